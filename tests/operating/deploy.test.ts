/**
 * The deployment files of deploy/ (the image itself is built and run in tests/operating/executables.test.ts,
 * beside the executable it holds):
 * - kubernetes.yaml, validated against the Kubernetes API schema (kubernetes-models: the API's
 *   OpenAPI definitions compiled to validators), and its numbers checked against each other and
 *   against bench/RESULTS.md;
 * - echo.service, through `systemd-analyze verify` (no running systemd needed);
 * - and the flags each of them gives the server, given to the real server: it must start with them.
 */
import { describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { BUN, concurrently, descendantsOf, ROOT, run, runCommand } from "../helpers.ts";

const text = (path: string) => Bun.file(join(ROOT, path)).text();

/** `--name=value` and `--name value` alike; true for a flag alone. */
function flags(args: string[]): Map<string, string | true> {
  const found = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) found.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--"))
      found.set(arg.slice(2), args[++i]!);
    else found.set(arg.slice(2), true);
  }
  return found;
}
const num = (value: string | true | undefined) => Number(value ?? 0);

/** "64k" → 65536, as --max-buffer reads it. */
function bytes(value: string): number {
  const [, n, unit] = /^(\d+)([km]?)$/i.exec(value)!;
  return Number(n) * { "": 1, k: 1024, m: 1024 ** 2 }[unit!.toLowerCase() as "" | "k" | "m"];
}

/** A Kubernetes memory quantity: "64Mi", "1Gi", "100M". */
function quantity(value: string): number {
  const [, n, unit] = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(value)!;
  const scale = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  return Number(n) * (unit ? scale[unit as keyof typeof scale] : 1);
}

/** The ENV of deploy/Containerfile: what the image gives the server before any flag. */
async function imageEnv(): Promise<Record<string, string>> {
  const file = (await text("deploy/Containerfile")).replace(/\\\n/g, " ");
  const env: Record<string, string> = {};
  for (const line of file.split("\n").filter((l) => l.startsWith("ENV ")))
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [name, value] = pair.split("=");
      env[name!] = value!;
    }
  return env;
}

/**
 * The server started with a deployment file's flags (and environment), on loopback and free
 * ports instead of theirs: it must listen, so the flags exist and go together (--udp refuses
 * --stop-delay, for one). Killed once its /readyz has answered.
 */
async function startsWith(args: string[], env: Record<string, string> = {}) {
  const local = args.map((arg) =>
    arg
      .replace(/^(--(?:http-)?port=)\d+$/, "$10")
      .replace(/^(--(?:http-)?host=).*$/, "$1127.0.0.1"),
  );
  for (let i = 0; i < local.length - 1; i++) {
    if (/^--(http-)?port$/.test(local[i]!)) local[i + 1] = "0";
    if (/^--(http-)?host$/.test(local[i]!)) local[i + 1] = "127.0.0.1";
  }
  const server = run("server.ts", ["--log-format", "json", ...local], {
    env: { ...env, ECHO_HOST: "127.0.0.1", ECHO_HTTP_HOST: "127.0.0.1" },
  });
  const http = await server.out.waitFor(/"event":"http"/).catch((error) => {
    throw new Error(`${error.message}\nstderr:\n${server.err.text}`);
  });
  await server.out.waitFor(/"event":"listening"/);
  const response = await fetch(`http://127.0.0.1:${JSON.parse(http).port}/readyz`);
  expect(response.status).toBe(200);
  // Its workers too (--workers): orphaned, they would drain for --stop-delay holding the pipes.
  for (const pid of [...descendantsOf(server.proc.pid), server.proc.pid])
    process.kill(pid, "SIGKILL");
  await server.exited;
}

// ---- Kubernetes ----------------------------------------------------------------------------------
const docs = Bun.YAML.parse(await text("deploy/kubernetes.yaml")) as Record<string, any>[];
const deployment = docs.find((d) => d.kind === "Deployment")!;
const service = docs.find((d) => d.kind === "Service")!;
const pod = deployment?.spec.template.spec;
const containers: Record<string, any>[] = pod?.containers ?? [];

/** From bench/RESULTS.md: the executable's RSS once listening, and each idle connection's. */
const RSS = 38.6e6;
const PER_CONNECTION = 1.44e3;
/** The largest read Bun hands the server (shared/bun-sockets.md: 512 KiB). */
const ONE_READ = 512 * 1024;

describe("deploy/kubernetes.yaml", () => {
  test("a Deployment and a Service, valid against the Kubernetes API schema", () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      "apps/v1 Deployment",
      "v1 Service",
    ]);
    expect(() => new Deployment(deployment as any).validate()).not.toThrow();
    expect(() => new Service(service as any).validate()).not.toThrow();
  });

  test("the validator does reject what the API would (a port as text, a selector as text)", () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "5000";
    expect(() => new Deployment(broken as any).validate()).toThrow(/containerPort must be integer/);
    delete broken.spec.template.spec.containers[0].ports;
    broken.spec.selector = "app";
    expect(() => new Deployment(broken as any).validate()).toThrow(/selector must be object/);
  });

  test("a TCP and a UDP server: the Service's ports reach them, its selector the Pods", () => {
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const reached = service.spec.ports.map((port: any) => {
      const target = containers
        .flatMap((c) => c.ports.map((p: any) => ({ ...p, container: c.name })))
        .find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
      expect(target?.protocol ?? "TCP").toBe(port.protocol);
      return `${port.protocol} ${port.port} → ${target?.container}`;
    });
    expect(reached).toEqual(["TCP 7 → tcp", "UDP 7 → udp"]);
    const udp = flags(containers.find((c) => c.name === "udp")!.args);
    expect(udp.get("udp")).toBe(true);
    expect(flags(containers.find((c) => c.name === "tcp")!.args).has("udp")).toBe(false);
  });

  for (const container of containers)
    test(`${container.name}: its flags' ports are its container ports, and the probes' side port`, () => {
      const args = flags(container.args);
      const port = (name: string) => {
        const found = container.ports.find((p: any) => p.name === name || p.containerPort === name);
        return found?.containerPort;
      };
      const protocol = args.has("udp") ? "UDP" : "TCP";
      const echo = container.ports.filter((p: any) => p.protocol === protocol);
      expect(echo.map((p: any) => p.containerPort)).toContain(num(args.get("port")));
      const side = num(args.get("http-port"));
      expect(side).toBeGreaterThan(0);
      expect(port(container.readinessProbe.httpGet.port)).toBe(side);
      expect(port(container.livenessProbe.httpGet.port)).toBe(side);
      expect(container.readinessProbe.httpGet.path).toBe("/readyz");
      expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    });

  test("the grace period outlasts every container's stop: delay (or preStop) plus drain", () => {
    const grace = pod.terminationGracePeriodSeconds;
    for (const container of containers) {
      const args = flags(container.args);
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const stop = preStop + num(args.get("stop-delay")) + num(args.get("drain-timeout"));
      // A drain with no timeout (0) could outlast any grace period: each container bounds its own.
      if (!args.has("udp")) expect(num(args.get("drain-timeout"))).toBeGreaterThan(0);
      expect({ [container.name]: `${stop} s`, fits: stop < grace }).toEqual({
        [container.name]: `${stop} s`,
        fits: true,
      });
      // Some time for the endpoints to update before the port closes, one way or the other.
      expect(preStop + num(args.get("stop-delay"))).toBeGreaterThanOrEqual(
        container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold,
      );
    }
  });

  test("non-root (the image's user), read-only root, no privilege escalation, no capability", async () => {
    const user = /^USER (\d+):(\d+)$/m.exec(await text("deploy/Containerfile"))!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: Number(user[1]),
      runAsGroup: Number(user[2]),
    });
    for (const container of containers)
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
  });

  test("memory: the request covers what bench/RESULTS.md measured, the limit what the flags allow", () => {
    for (const container of containers) {
      const args = flags(container.args);
      const { requests, limits } = container.resources;
      expect(requests.cpu).toBeDefined();
      const maxBuffer = bytes(String(args.get("max-buffer") ?? "256k"));
      if (args.has("udp")) {
        expect(quantity(requests.memory)).toBeGreaterThanOrEqual(RSS);
        expect(quantity(limits.memory)).toBeGreaterThanOrEqual(RSS + maxBuffer);
        continue;
      }
      const connections = num(args.get("max-connections") ?? "10000");
      expect(quantity(requests.memory)).toBeGreaterThanOrEqual(RSS + connections * PER_CONNECTION);
      expect(quantity(limits.memory)).toBeGreaterThanOrEqual(
        RSS + connections * (maxBuffer + ONE_READ + PER_CONNECTION),
      );
    }
  });

  for (const container of containers)
    concurrently(
      `${container.name}: the server starts with the image's environment and these flags`,
      async () => {
        await startsWith(container.args, await imageEnv());
      },
    );
});

// ---- systemd -------------------------------------------------------------------------------------
const SYSTEMD_ANALYZE = Bun.which("systemd-analyze");
const unit = await text("deploy/echo.service");
/** `Key=value` lines of the unit (the last one wins, as in systemd). */
const directives = new Map(
  unit
    .split("\n")
    .filter((line) => /^[A-Z]\w*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
const execStart = directives.get("ExecStart")?.split(/\s+/) ?? [];

describe("deploy/echo.service", () => {
  // systemd-analyze verify refuses an ExecStart= whose program is not installed: the copy it
  // checks runs the same flags with the project's Bun and server.ts, both real files here.
  (SYSTEMD_ANALYZE ? test : test.skip)("systemd-analyze verify: not a word to say", async () => {
    const dir = await mkdtemp(join(tmpdir(), "echo-unit-"));
    try {
      const copy = unit.replace(/^ExecStart=\S+/m, `ExecStart=${BUN} ${join(ROOT, "server.ts")}`);
      expect(copy).not.toBe(unit);
      await Bun.write(join(dir, "echo.service"), copy);
      const verify = runCommand([SYSTEMD_ANALYZE!, "verify", join(dir, "echo.service")]);
      expect(await verify.exited).toBe(0);
      // It exits 0 on an unknown key or a bad value too, saying so: silence is the pass.
      expect(verify.err.text + verify.out.text).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the settings a stop and a restart depend on", () => {
    const args = flags(execStart.slice(1));
    expect(directives.get("Type")).toBe("exec");
    expect(directives.get("Wants")).toContain("network-online.target");
    expect(directives.get("After")).toContain("network-online.target");
    expect(directives.get("Restart")).toBe("on-failure");
    expect(directives.get("SuccessExitStatus")?.split(/\s+/)).toContain("75");
    expect(Number(directives.get("LimitNOFILE"))).toBeGreaterThan(
      num(args.get("max-connections") ?? "10000"),
    );
    expect(num(args.get("drain-timeout"))).toBeGreaterThan(0);
    expect(Number(directives.get("TimeoutStopSec"))).toBeGreaterThan(
      num(args.get("stop-delay")) + num(args.get("drain-timeout")),
    );
    expect(args.get("mode")).toBe("concurrent");
    // Unprivileged port: no capability at all.
    expect(num(args.get("port"))).toBeGreaterThan(1023);
    expect(directives.get("CapabilityBoundingSet")).toBe("");
    // A reload replaces the workers one by one: there must be workers, and the signal for it.
    expect(directives.get("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(num(args.get("workers"))).toBeGreaterThan(1);
    expect(directives.get("KillMode")).toBe("mixed");
  });

  concurrently("the server starts with its ExecStart flags", async () => {
    await startsWith(execStart.slice(1));
  });
});
