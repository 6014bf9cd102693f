/** The console's styles (inline under the page's CSP nonce). Focus is always visible; state is never colour alone. */
export const consoleStyles = String.raw`
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; background: #f6f7f9; }
body { margin: 0 auto; max-width: 78rem; padding: 1rem 1.5rem 3rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 0.5rem; }
header p { margin: 0.25rem 0; }
.muted { color: #57606a; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.92rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #eaeef2; }
tbody th { font-weight: 600; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.85rem; }
button { font: inherit; padding: 0.2rem 0.7rem; margin: 0.1rem 0.25rem 0.1rem 0; border: 1px solid #57606a; border-radius: 4px; background: #fff; color: #1b1f24; cursor: pointer; }
button:hover { background: #eaeef2; }
button[data-verb="approve"] { border-color: #1a7f37; }
button[data-verb="reject"], button[data-verb="paused"], button[data-verb="draining"] { border-color: #9a6700; }
input[type="text"] { font: inherit; padding: 0.25rem 0.4rem; width: min(32rem, 100%); border: 1px solid #57606a; border-radius: 4px; }
label { font-weight: 600; margin-right: 0.5rem; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
#proposal { margin: 0.5rem 0 0.75rem; }
#proposal p { margin: 0.25rem 0 0; }
#announcer { min-height: 1.5rem; margin: 0.75rem 0; padding: 0.4rem 0.6rem; border-left: 4px solid transparent; }
#announcer.error { border-color: #cf222e; background: #ffebe9; }
#announcer.ok { border-color: #1a7f37; background: #dafbe1; }
[data-state] { font-weight: 600; }
[data-state="paused"], [data-state="draining"] { color: #9a6700; }
.alert { color: #cf222e; font-weight: 600; }
#residency-proposal fieldset { display: grid; grid-template-columns: 10rem minmax(12rem, 32rem); gap: 0.35rem 0.5rem; align-items: center; border: 1px solid #d0d7de; border-radius: 4px; margin: 0.5rem 0 0.75rem; background: #fff; }
#residency-proposal legend { font-weight: 600; }
#residency-proposal input[type="text"] { width: 100%; box-sizing: border-box; }
#residency-proposal button, #residency-proposal p { grid-column: 1 / -1; justify-self: start; margin: 0.25rem 0 0; }
`;
