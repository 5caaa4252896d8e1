#!/usr/bin/env bun
/**
 * echo probe: checks any echo server (yours, in Python, C, Java...) the way a grader would, and
 * says for each check what it sent, what came back and, when it failed, the likely mistake.
 *
 *   terminal 1                                   terminal 2
 *   $ bun run server --mode sequential           $ bun run probe --expect sequential
 *   listening on 127.0.0.1:5000 (mode ...)       PASS  a short line            sent "hello, echo\n"...
 *   #1 connected from 127.0.0.1:40312            PASS  one message in 3 pieces...
 *   #1 received 12 bytes: "hello, echo\n"        ...
 *   ...                                          10 of 10 checks passed
 *
 * With --expect once (the default) every check fits in one connection, then the probe checks that
 * the port refuses the next. Exit status: 0 every check passed, 1 otherwise, 2 usage error.
 */
import { startProgram } from "./src/cli/command-line.ts";
import { probeOptions, probeSettings } from "./src/cli/options.ts";
import { printExit } from "./src/common/say.ts";
import { stylesFor } from "./src/common/colors.ts";
import { formatAddress } from "./src/common/text.ts";
import { connectErrorMessage, errorCode, tlsFileMessage } from "./src/common/errors.ts";
import { readCa, TlsFileError } from "./src/common/tls.ts";
import { runProbe } from "./src/probe/run.ts";
import { TlsMismatch } from "./src/probe/conn.ts";
import { reportJson, reportText } from "./src/probe/report.ts";
import { probeClient } from "./src/probe/client.ts";

const started = startProgram(
  "probe",
  probeOptions,
  (v, t, given) => probeSettings(v, t, given),
  (t) => ({
    intro: t.probeIntro,
    outro: t.probeOutro,
  }),
);
if (started.exit) process.exit(printExit(started.exit));
const { t, settings } = started;
const { host, port, expect, timeout, tls, json } = settings;
const out = stylesFor(process.stdout.isTTY, process.env);
const err = stylesFor(process.stderr.isTTY, process.env);

if (settings.client !== undefined) {
  // A client to check, against the probe's own slow echo server (src/probe/client.ts).
  const command = settings.client;
  const { results, port } = await probeClient(t, command, timeout * 1000, (address) => {
    if (!json) console.log(out.strong(t.probeClientStart(JSON.stringify(command), address)));
  });
  const report = { results, figures: {} };
  if (json) console.log(reportJson(report, { client: command, address: `127.0.0.1:${port}` }));
  else for (const line of reportText(t, report, out)) console.log(line);
  process.exit(results.every((r) => r.passed) ? 0 : 1);
}
const address = formatAddress(host, port);

const ca =
  tls?.ca === undefined
    ? undefined
    : await readCa(tls.ca).catch((error: unknown) => {
        if (!(error instanceof TlsFileError)) throw error;
        console.error(err.error(tlsFileMessage(t, error)));
        process.exit(1);
      });
if (tls?.insecure) console.error(err.warning(t.insecureWarning));
if (!json) console.log(out.strong(t.probeStart(address, expect, timeout)));

const report = await runProbe(
  t,
  { host, port, tls: tls && { ca, insecure: tls.insecure } },
  expect,
  timeout * 1000,
  settings.slowPause,
);
if (report.connectError !== undefined) {
  const message = noConnection(report.connectError);
  if (json) console.log(JSON.stringify({ address, expect, error: message }, null, 2));
  console.error(err.error(message));
  process.exit(1);
}
for (const r of report.results)
  if (r.id === "once" && !r.passed && r.code !== "notRun" && !settings.expectGiven)
    r.advice += t.probeOnceByDefault;
if (json) console.log(reportJson(report, { address, expect, tls: tls !== undefined }));
else for (const line of reportText(t, report, out)) console.log(line);
process.exit(report.results.every((r) => r.passed) ? 0 : 1);

/** Why the first connection failed. Refused: it is the student's own server that is not there. */
function noConnection(error: unknown): string {
  if (error instanceof TlsMismatch)
    return (error.serverSpeaksTls ? t.probeSpeaksTls : t.probeNotTls)(address);
  if (errorCode(error) === "ECONNREFUSED") return t.probeNoServer(address);
  return connectErrorMessage(t, error, host, port);
}
