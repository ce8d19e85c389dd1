/**
 * The one way to watch central's venue documents (docs/design.md "Scheduling work after changes"):
 * the read model, central's own writer and the event log's fact deriver (event-log/fact-deriver.ts)
 * implement this interface and are added to the registry (`doc-registry.ts`) once, before the first document loads.
 */
import type { ChangeSummary, TxOrigin } from '@fridgesync/shared';
import type { VenueHost } from './venue-host.ts';

/** Hooks called by the registry for every loaded venue document; each is optional. */
export interface DocObserver {
  /**
   * A venue document was loaded from storage. Runs before anyone else sees the host, in the order
   * the observers were added; may write (seed records, declarations) under its own origin. The
   * changes it writes are not reported to {@link changed}: the observers build from the loaded state.
   */
  loaded?(host: VenueHost): void;
  /**
   * One transaction changed entries of a loaded document. `origin` says where it came from
   * (`undefined` for a transaction tagged with no fridgesync origin). Runs inside Yjs' transaction
   * cleanup: mark what to do and schedule it, never write here.
   */
  changed?(host: VenueHost, change: ChangeSummary, origin: TxOrigin | undefined): void;
}
