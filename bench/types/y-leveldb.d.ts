// Minimal types for the benchmark peer y-leveldb 0.2 (it ships none).
declare module 'y-leveldb' {
  export class LeveldbPersistence {
    constructor(location: string, opts?: unknown);
    storeUpdate(docName: string, update: Uint8Array): Promise<number>;
    getYDoc(docName: string): Promise<unknown>;
    destroy(): Promise<void>;
  }
}
