/**
 * The small self-contained page that renders an OpenAPI description (no CDN, works offline), served
 * by central and by the gateway at `/documentation` with its script and style beside it
 * (`/documentation/page.js`, `/documentation/page.css`): separate files, so the pages run under a
 * Content-Security-Policy that allows no inline script or style.
 */

/** The HTML of the page; `title` is plain text (escaped here). */
export function apiDocHtml(title: string): string {
  const t = title.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${t}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/documentation/page.css">
<link rel="icon" href="data:,">
<script type="module" src="/documentation/page.js"></script>
</head><body>
<h1>${t}</h1>
<p>Machine-readable spec: <a href="/documentation/json">/documentation/json</a> (OpenAPI 3). Errors are
<code>{statusCode, code, message}</code>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>;
each operation names the roles it serves and every error it answers.</p>
<div id="ops">Loading…</div>
</body></html>`;
}

/** The page's stylesheet. */
export const API_DOC_CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.6rem 0;padding:.5rem .7rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.2rem;font-weight:600;font-family:monospace}
.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.delete{color:#c62828}
.who{color:#555;font-size:13px}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:20rem}
details summary{cursor:pointer;color:#555}
`;

/** The page's script: fetches `/documentation/json` and lists the operations by tag. */
export const API_DOC_JS = `fetch('/documentation/json').then(r=>r.json()).then(spec=>{
  const byTag={};
  for(const [path,item] of Object.entries(spec.paths||{})) for(const [method,op] of Object.entries(item)){
    const tag=(op.tags&&op.tags[0])||'other';(byTag[tag]=byTag[tag]||[]).push({path,method,op});
  }
  const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  let html='';
  for(const tag of Object.keys(byTag).sort()){
    html+='<h2>'+esc(tag)+'</h2>';
    for(const {path,method,op} of byTag[tag]){
      const roles=op['x-roles']&&op['x-roles'].length?'roles: '+op['x-roles'].join(', '):'';
      const errs=Object.keys(op.responses||{}).filter(s=>s>='400').join(' ');
      html+='<div class="op"><span class="m '+method+'">'+method.toUpperCase()+'</span> <code>'+esc(path)+'</code><div>'+esc(op.summary||'')+'</div>';
      html+='<div class="who">'+esc([roles,errs?'errors: '+errs:''].filter(Boolean).join(' · '))+'</div>';
      const extra={parameters:op.parameters,requestBody:op.requestBody,responses:op.responses};
      html+='<details><summary>schema</summary><pre>'+esc(JSON.stringify(extra,null,2))+'</pre></details>';
      html+='</div>';
    }
  }
  document.getElementById('ops').innerHTML=html;
}).catch(e=>{document.getElementById('ops').textContent='Could not load the spec: '+e});
`;
