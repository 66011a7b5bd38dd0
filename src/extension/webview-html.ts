import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

/**
 * The page every panel starts from: CSP `default-src 'none'`, the one bundled script allowed by
 * nonce, styles and images only from the extension's own folders. Model data never goes into
 * this HTML: it arrives later as messages and the webview renders it as text.
 */
function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string, script: string, stylesheet: string): string {
  const nonce = randomBytes(16).toString('base64');
  const { joinPath } = require('vscode').Uri as typeof vscode.Uri;
  const scriptUri = webview.asWebviewUri(joinPath(extensionUri, 'dist', script));
  const styleUri = webview.asWebviewUri(joinPath(extensionUri, 'media', stylesheet));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    // The toolkit's web components and chart.js set inline styles; scripts stay nonce-only.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styleUri}">
<title>${esc(title)}</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}

/** Gives a webview our page: scripts on, resources only from the extension's dist/ and media/. */
export function showPage(webview: vscode.Webview, extensionUri: vscode.Uri, title: string, script: string, stylesheet: string): void {
  const { joinPath } = require('vscode').Uri as typeof vscode.Uri;
  webview.options = { enableScripts: true, localResourceRoots: [joinPath(extensionUri, 'dist'), joinPath(extensionUri, 'media')] };
  webview.html = webviewHtml(webview, extensionUri, title, script, stylesheet);
}
