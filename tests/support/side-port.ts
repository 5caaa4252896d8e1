/** The --http-port side: where it listens, and its metrics parsed by Prometheus's own parser. */
import { expect } from "bun:test";
import { type Child, runCommand } from "./children.ts";

/** The port of the health endpoint, from its line. */
export async function httpPortOf(server: Child): Promise<number> {
  const line = await server.out.waitFor(/^health and metrics on http:\/\//);
  return Number(/:(\d+)\//.exec(line)![1]);
}

export const DEBIAN_PYTHON = "/usr/bin/python3"; // python3-prometheus-client is installed for it
export const haveParser =
  Bun.spawnSync([DEBIAN_PYTHON, "-c", "import prometheus_client"], { stderr: "ignore" })
    .exitCode === 0;

/** The samples of GET /metrics, parsed by prometheus_client's own text parser. */
export async function scrape(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const parser = runCommand(
    [
      DEBIAN_PYTHON,
      "-c",
      `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        key = s.name + "".join(f'{{{k}="{v}"}}' for k, v in sorted(s.labels.items()))
        out[key] = s.value
print(json.dumps(out))
`,
    ],
    { stdin: text },
  );
  expect(await parser.exited).toBe(0);
  return JSON.parse(parser.out.all[0]!);
}
