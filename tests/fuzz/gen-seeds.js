#!/usr/bin/env node
// Writes generated seed inputs for the fuzzers into tests/fuzz/corpus/<target>/gen-*.txt, from the differential
// tests' generators (tests/diff/diff.js and diff_json0.js, seeded: the same files every run). Needs
// tests/diff/node_modules (make diff-test installs it). usage: node tests/fuzz/gen-seeds.js [COUNT]
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const count = Number(process.argv[2] || 24);
const diffDir = path.join(__dirname, '..', 'diff');
const corpus = path.join(__dirname, 'corpus');
const diffRequire = require('module').createRequire(path.join(diffDir, 'diff_json0.js'));

// text-unicode: "<doc>\n<a>\n<b>" (documents without newlines: the first line is the document).
const { makeScenario } = diffRequire('./diff.js');
let n = 0;
for (let i = 0; n < count && i < count * 10; i++) {
  const s = makeScenario(777, i);
  if (s.doc.includes('\n')) continue;
  fs.writeFileSync(path.join(corpus, 'fuzz_text_unicode', `gen-${String(n++).padStart(2, '0')}.txt`),
                   `${s.doc}\n${JSON.stringify(s.a)}\n${JSON.stringify(s.b)}`);
}

// json0: diff_json0.js has no exports; run its source without its main() to reach makeScenario.
const src = fs.readFileSync(path.join(diffDir, 'diff_json0.js'), 'utf8').replace(/^#!.*\n/, '')
  .replace(/\nmain\(\)\.catch[\s\S]*$/, '\nmodule.exports = { makeScenario };\n');
const mod = { exports: {} };
vm.runInThisContext(`(function (require, module, exports, __dirname) {${src}\n})`)(diffRequire, mod, mod.exports, diffDir);
for (let i = 0; i < count; i++) {
  const s = mod.exports.makeScenario(4242, i);
  fs.writeFileSync(path.join(corpus, 'fuzz_json0', `gen-${String(i).padStart(2, '0')}.txt`),
                   `${JSON.stringify(s.doc)}\n${JSON.stringify(s.a)}\n${JSON.stringify(s.b)}`);
}
console.log(`gen-seeds: ${n} text-unicode and ${count} json0 seeds written under ${corpus}`);
