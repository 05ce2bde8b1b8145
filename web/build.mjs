// Builds the page into web/dist/: src/main.js (and the CSS it imports) bundled and minified by esbuild under
// content-hashed names (app-HASH.js, app-HASH.css, which the bridge serves as immutable), and index.html
// referencing them. Old bundles are removed first. Usage: node build.mjs (make web runs it).
import { build } from 'esbuild';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// collab-bridge serves the page with libwebsockets' security headers, whose Content-Security-Policy has
// `style-src 'self'`: no <style> elements, no style attributes. CodeMirror injects its styles through style-mod,
// which uses a constructed stylesheet (document.adoptedStyleSheets, which CSP allows) only for shadow roots and a
// <style> element for documents (blocked: the editor would lose its base styles and the console would show a CSP
// error). This plugin makes style-mod use the constructed stylesheet for documents too. It fails the build if the
// code it patches changed (a new style-mod version), rather than silently shipping a broken editor.
let styleModPatched = false;
const adoptedStyleSheetsForDocuments = {
  name: 'style-mod-adopted-stylesheets',
  setup(b) {
    b.onLoad({ filter: /[\\/]style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const source = await fs.readFile(args.path, 'utf8');
      const from = 'if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {';
      if (!source.includes(from)) {
        throw new Error(`build.mjs: ${args.path} no longer contains "${from}": review the style-mod patch`);
      }
      styleModPatched = true;
      return { contents: source.replace(from, 'if (root.adoptedStyleSheets && win.CSSStyleSheet) {'), loader: 'js' };
    });
  },
};
const dist = path.join(here, 'dist');

await fs.rm(dist, { recursive: true, force: true });
await fs.mkdir(dist, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['es2020'],
  outdir: dist,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  plugins: [adoptedStyleSheetsForDocuments],
  legalComments: 'linked',
  logLevel: 'warning',
  // sharedb's client reads process.env in a few places; browsers have no process.
  define: { 'process.env.NODE_ENV': '"production"' },
});

if (!styleModPatched) throw new Error('build.mjs: style-mod was not bundled from src/style-mod.js: review the patch');

// The output names: the entry's JS and the CSS esbuild split out of it.
let js = null;
let css = null;
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (info.entryPoint && file.endsWith('.js')) {
    js = path.basename(file);
    if (info.cssBundle) css = path.basename(info.cssBundle);
  }
}
if (!js || !css) throw new Error(`build.mjs: could not find the bundles in ${Object.keys(result.metafile.outputs)}`);

const template = await fs.readFile(path.join(here, 'src', 'index.html'), 'utf8');
const html = template.replace('{{JS}}', `/${js}`).replace('{{CSS}}', `/${css}`);
await fs.writeFile(path.join(dist, 'index.html'), html);

const sizes = await Promise.all([js, css].map(async (f) => `${f} ${(await fs.stat(path.join(dist, f))).size} bytes`));
console.log(`web/dist: index.html, ${sizes.join(', ')}`);
