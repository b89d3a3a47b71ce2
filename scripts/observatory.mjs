// Grade a site with the MDN HTTP Observatory's own library, on any host and ports (its command line only
// scans public hosts on the standard ports). Prints one JSON line: grade, score and each test's result.
//   NODE_EXTRA_CA_CERTS=cert.pem node scripts/observatory.mjs localhost 8380 8443
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { retrieve } from "@mdn/mdn-http-observatory/src/retriever/retriever.js";
import { ALL_TESTS, NUM_TESTS } from "@mdn/mdn-http-observatory/src/constants.js";
import { MINIMUM_SCORE_FOR_EXTRA_CREDIT } from "@mdn/mdn-http-observatory/src/grader/charts.js";
import { getGradeForScore, getScoreModifier } from "@mdn/mdn-http-observatory/src/grader/grader.js";

// The package downloads Chromium's HSTS preload list when it is installed; installs here run without scripts
// (npm's ignore-scripts, no downloads). The host graded here is never on that list, so an empty list gives
// the same answer: write one if the download did not happen.
const packageDir = path.dirname(createRequire(import.meta.url).resolve("@mdn/mdn-http-observatory/package.json"));
const preload = path.join(packageDir, "conf", "hsts-preload.json");
if (!fs.existsSync(preload)) fs.writeFileSync(preload, "{}");

const [host = "localhost", httpPort = "80", httpsPort = "443"] = process.argv.slice(2);
const r = await retrieve(host, { httpPort, httpsPort });
if (!r.responses.auto) {
  console.error(`cannot reach https://${host}:${httpsPort}/`);
  process.exit(2);
}
// The same scoring as the library's scan(): extra credit only when the uncurved score is already an A.
let withCredit = 100;
let uncurved = 100;
let passed = 0;
const tests = {};
for (const test of ALL_TESTS) {
  const result = test(r);
  const modifier = result.result ? getScoreModifier(result.result) : 0;
  withCredit += modifier;
  if (modifier < 0) uncurved += modifier;
  if (result.pass) passed += 1;
  tests[result.constructor.name] = { result: result.result, pass: result.pass, modifier };
}
const final = getGradeForScore(uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? withCredit : uncurved);
console.log(JSON.stringify({ grade: final.grade, score: final.score, passed, total: NUM_TESTS, tests }));
