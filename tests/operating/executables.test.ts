/**
 * The single-file executables (`bun run build`), run as a student would: copied to a folder far
 * from the repository, with no `bun` on PATH, so that nothing can lean on the checkout.
 *
 * One build of every target per run of the suite (about 5 s, in the background from the moment
 * the file loads) and, beside it, one of linux-x64 alone (both kept for the next run while the
 * sources are the same: see `kept` below): that pair gets a representative
 * black-box subset of the source tests, run while the other targets build, and the same command lines are run
 * against the sources to show the same output and exit status; linux-arm64 echoes a line under
 * qemu-aarch64 where that is installed; every target is checked to be the right kind of file.
 * The windows-x64 pair is not run: under Debian 12's wine64 (8.0) it stops before its first
 * line, since Bun needs bcryptprimitives.dll, which that Wine lacks.
 * The container image of deploy/Containerfile is built from the same linux-x64 server, and run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  utimes,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pkg from "../../package.json";
import {
  BUN,
  concurrently,
  have,
  inBackground,
  Peer,
  randomBytes,
  ROOT,
  run,
  runCommand,
  sha256,
  type Server,
} from "../helpers.ts";

const dist = await mkdtemp(join(tmpdir(), "echo-dist-")); // what `bun run build` wrote
const away = await mkdtemp(join(tmpdir(), "echo-away-")); // the linux-x64 pair alone, as handed out

// PATH without any folder that holds a bun: the executables must not need one.
const PATH = (process.env.PATH ?? "")
  .split(delimiter)
  .filter((dir) => dir !== "" && !Bun.which("bun", { PATH: dir }))
  .join(delimiter);
const NO_BUN = { PATH };

/** `bun run build` with these arguments, awaited; its output for the tests to read. */
async function build(args: string[]) {
  const child = runCommand([BUN, "scripts/build.ts", ...args]);
  if ((await child.exited) !== 0) throw new Error(`build failed:\n${child.err.text}`);
  return child;
}

// ---- builds kept between runs ---------------------------------------------------------------
// A build reads the programs' sources, the build script, package.json, tsconfig.json (and
// bunfig.toml, to be safe) and Bun itself, nothing else: with all of those the same, it makes the same files. So what a run built is
// kept, under a hash of them all, in a folder of the system's temporary one, and the next run
// with the same sources hard-links those files instead of building again (about 15 s of both
// cores, with the image). Only a build that succeeded is kept, and whole (written aside, then
// renamed into place); any change to what it reads is a new hash, so a new build.
const BUILD_INPUTS = ["server.ts", "client.ts", "probe.ts", "package.json", "tsconfig.json"];
async function hashOf(files: string[], extra: string[] = []): Promise<string> {
  const hash = new Bun.CryptoHasher("sha256");
  for (const part of extra) hash.update(`${part}\0`);
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(await Bun.file(file).bytes());
  }
  return hash.digest("hex").slice(0, 24);
}
const sources = [
  ...[...BUILD_INPUTS, "bunfig.toml", "scripts/build.ts"].map((file) => join(ROOT, file)),
  ...(await readdir(join(ROOT, "src"), { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name)),
];
const KEPT = join(tmpdir(), `echo-build-${await hashOf(sources, [Bun.version, Bun.revision])}`);
/** Kept builds unused for this long, of other sources, are removed: each is about 1.8 GB. */
const KEPT_FOR_MS = 10 * 60_000;

/**
 * The folder `name` of this run's kept builds, made by `make` (into the folder it is given)
 * if no earlier run with the same sources made it.
 */
async function kept(name: string, make: (into: string) => Promise<void>): Promise<string> {
  const folder = join(KEPT, name);
  if (
    await stat(folder).then(
      (s) => s.isDirectory(),
      () => false,
    )
  ) {
    const now = new Date();
    await utimes(KEPT, now, now); // in use: not removed as old by another run
    return folder;
  }
  await mkdir(KEPT, { recursive: true });
  const aside = await mkdtemp(join(KEPT, `.${name}-`));
  try {
    await make(aside);
    await rename(aside, folder).catch(async (error) => {
      // Another run with the same sources kept its own first: theirs is the same.
      if (!(await stat(folder).catch(() => undefined))) throw error;
    });
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
  await removeOldBuilds();
  return folder;
}

async function removeOldBuilds(): Promise<void> {
  const before = Date.now() - KEPT_FOR_MS;
  for (const entry of await readdir(tmpdir())) {
    const path = join(tmpdir(), entry);
    if (!entry.startsWith("echo-build-") || path === KEPT) continue;
    const mtime = await stat(path).then(
      (s) => s.mtimeMs,
      () => Infinity,
    );
    if (mtime < before) await rm(path, { recursive: true, force: true });
  }
}

/** Every file of `from` hard-linked into `to`: no 100 MiB copies. */
async function linkAll(from: string, to: string): Promise<void> {
  for (const file of await readdir(from)) await link(join(from, file), join(to, file));
}

/** Its output as the tests read it, and the folder it wrote to. */
interface BuildOutput {
  out: { all: string[] };
  outdir: string;
}
const everyTarget: Promise<BuildOutput> = inBackground(async () => {
  const folder = await kept("every-target", async (into) => {
    const child = await build(["--outdir", join(into, "dist")]);
    const output: BuildOutput = { out: { all: child.out.all }, outdir: join(into, "dist") };
    await Bun.write(join(into, "output.json"), JSON.stringify(output));
  });
  await linkAll(join(folder, "dist"), dist);
  return JSON.parse(await Bun.file(join(folder, "output.json")).text());
});
const linuxPair = inBackground(async () => {
  const folder = await kept("linux-x64", async (into) => {
    const own = join(into, "build");
    await build(["--target", "linux-x64", "--outdir", own]);
    for (const program of ["server", "client"])
      await rename(join(own, `echo-${program}-linux-x64`), join(into, `echo-${program}`));
    await rm(own, { recursive: true });
  });
  await linkAll(folder, away);
});

afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
  await rm(away, { recursive: true, force: true });
});

/**
 * A test that waits for a build: on a fresh machine that build first fetches each target's
 * runtime from the npm registry, far longer than a test's usual 30 s.
 */
const AFTER_A_BUILD_MS = 180_000;

/** A test of every target's build, once it is done; skipped when `skip`. */
function withEveryTarget(name: string, fn: () => Promise<void>, skip = false) {
  (skip ? test.skip : concurrently)(
    name,
    async () => {
      await everyTarget;
      await fn();
    },
    AFTER_A_BUILD_MS,
  );
}

/** A test of the linux-x64 pair: it starts once the pair is built, beside the others. */
function withPair(name: string, fn: () => Promise<void>) {
  concurrently(
    name,
    async () => {
      await linuxPair;
      await fn();
    },
    AFTER_A_BUILD_MS,
  );
}

/** A program of the linux-x64 pair, started in its own folder with no bun on PATH. */
function exe(
  program: "server" | "client",
  args: string[],
  options: Parameters<typeof run>[2] = {},
  folder = away,
) {
  return runCommand([join(folder, `echo-${program}`), ...args], {
    ...options,
    cwd: folder,
    env: { ...NO_BUN, ...options.env },
  });
}

/** startServer(), for the executable. */
async function exeServer(args: string[] = [], env?: Record<string, string>): Promise<Server> {
  const child = exe("server", ["--port", "0", ...args], { env });
  const line = await child.out.waitFor(/^(listening on|escutando em) /).catch((error) => {
    throw new Error(`${error.message}\nstderr:\n${child.err.text}`);
  });
  const [, host, port] = / (?:on|em) \[?([^\]\s]+?)\]?:(\d+) /.exec(line)!;
  return { ...child, host: host!, port: Number(port) };
}

describe("the linux-x64 executables, far from the sources, without bun", () => {
  test("no bun on the PATH they get", () => {
    expect(Bun.which("bun", { PATH })).toBeNull();
  });

  // Same command line, same environment: same stdout, stderr and exit status as the sources,
  // but for the command they name (what the person typed: the executable, not `bun run`).
  const sameAsSources: [string, "server" | "client", string[], Record<string, string>?][] = [
    ["--version", "server", ["--version"]],
    ["--version", "client", ["-v"]],
    ["--help", "server", ["--help"]],
    ["--help", "client", ["--help"]],
    ["--help in Portuguese", "server", ["--help"], { LANG: "pt_BR.UTF-8" }],
    ["a usage error", "server", ["--mode", "nope"]],
    ["a usage error", "client", ["--port", "99999"]],
    ["a usage error in Portuguese", "client", ["--bogus"], { LANG: "pt_BR.UTF-8" }],
    ["connection refused", "client", ["--port", "1"]],
    ["connection refused in Portuguese", "client", ["--port", "1"], { LANG: "pt_BR.UTF-8" }],
  ];
  for (const [what, program, args, env] of sameAsSources)
    withPair(`${program} ${what}: as from the sources`, async () => {
      const fromExe = exe(program, args, { env, stdin: "" });
      const fromSources = run(`${program}.ts`, args, { env, stdin: "" });
      const [a, b] = await Promise.all([fromExe.exited, fromSources.exited]);
      const named = (text: string) => text.replaceAll(`bun run ${program} `, `echo-${program} `); // the copy's name
      expect({ code: a, out: fromExe.out.text, err: fromExe.err.text }).toEqual({
        code: b,
        out: named(fromSources.out.text),
        err: named(fromSources.err.text),
      });
    });

  withPair("a bunfig.toml where they start cannot preload code into them", async () => {
    const folder = await mkdtemp(join(tmpdir(), "echo-bunfig-")); // the others' folder stays clean
    try {
      await copyFile(join(away, "echo-client"), join(folder, "echo-client"));
      await Bun.write(join(folder, "bunfig.toml"), 'preload = ["./intruder.ts"]\n');
      await Bun.write(join(folder, "intruder.ts"), 'console.log("preloaded");\n');
      const version = exe("client", ["--version"], {}, folder);
      expect(await version.exited).toBe(0);
      expect(version.out.all).toEqual([pkg.version]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  withPair("--version is package.json's", async () => {
    const version = exe("server", ["--version"]);
    expect(await version.exited).toBe(0);
    expect(version.out.text).toBe(pkg.version);
  });

  withPair(
    "mode once: the executable client's lines come back; the server exits 0 after it",
    async () => {
      const server = await exeServer();
      const client = exe("client", ["--port", String(server.port)], { stdin: "oi\nação ✓\nfim\n" });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi", "ação ✓"]);
      expect(await server.exited).toBe(0);
      expect(server.out.text).toContain("#1 closed: 14 bytes echoed");
    },
  );

  withPair("mode sequential: the second client waits for the first", async () => {
    const server = await exeServer(["--mode", "sequential"]);
    const first = new Peer(server.port);
    await first.connected;
    await server.out.waitFor("#1 connected");
    const second = new Peer(server.port);
    await second.connected;
    await server.out.waitFor("#2 waiting: 1 client ahead");
    second.socket.write("dois\n");
    first.socket.write("um\n");
    await first.until(3);
    expect(second.bytes).toBe(0); // untouched while the first is served
    first.finish();
    await second.until(5);
    expect(second.text()).toBe("dois\n");
    second.finish();
    await server.out.waitFor("#2 closed");
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  withPair(
    "mode concurrent: 8 MiB each way, exact, after a half-close, for two clients at once",
    async () => {
      const server = await exeServer(["--mode", "concurrent", "--quiet"]);
      const payload = randomBytes(8 << 20);
      const echoes = await Promise.all(
        [1, 2].map(async () => {
          const peer = new Peer(server.port);
          await peer.connected;
          await peer.send(payload);
          peer.finish(); // half-close: the whole echo must still come back, then the end
          await peer.ended;
          return peer.all();
        }),
      );
      for (const echo of echoes) {
        expect(echo.length).toBe(payload.length);
        expect(sha256(echo)).toBe(sha256(payload));
      }
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  withPair("port in use: one line, exit 1", async () => {
    const taken = await exeServer();
    const second = exe("server", ["--port", String(taken.port)]);
    expect(await second.exited).toBe(1);
    expect(second.err.all).toHaveLength(1);
    expect(second.err.text).toStartWith(`error: 127.0.0.1:${taken.port} is already in use`);
  });

  withPair("pt-BR from LANG", async () => {
    const server = await exeServer([], { LANG: "pt_BR.UTF-8" });
    expect(server.out.all[0]).toBe(`escutando em 127.0.0.1:${server.port} (modo once)`);
  });

  withPair("--workers 2: two worker processes, both serve, SIGTERM stops all", async () => {
    const server = await exeServer(["--mode", "concurrent", "--workers", "2"]);
    expect(server.out.all[0]).toMatch(/\(mode concurrent, 2 workers\)$/);
    for (let i = 0; i < 8; i++) {
      const peer = new Peer(server.port);
      await peer.send(new TextEncoder().encode(`linha ${i}\n`));
      peer.finish();
      await peer.ended;
      expect(peer.text()).toBe(`linha ${i}\n`);
    }
    // Worker k numbers its connections k, k+2, k+4...: odd and even ids mean both served.
    await server.out.waitFor(/^#\d*[13579] closed/);
    await server.out.waitFor(/^#\d*[02468] closed/);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.out.text).toContain("stopped: 8 connections");
  });
});

// ---- the container image (deploy/Containerfile) -------------------------------------------------
// Built with podman from the linux-x64 server above. `podman run` cannot work in this sandbox (it
// refuses the runtime's setrlimit), so the image's files are taken from the store and its ENTRYPOINT run
// with chroot as the image's USER, as a runtime would: /proc mounted, the root read-only (as
// Kubernetes' readOnlyRootFilesystem), in a mount namespace of its own that ends with it. The
// podman store is a folder of this file's own (vfs, no daemon), removed after it: no image or
// container of anyone else's is touched. Debian's podman; .ci/run installs it.
const SBIN = { PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
const PODMAN = Bun.which("podman", SBIN);
const CHROOT = Bun.which("chroot", SBIN);
const UNSHARE = Bun.which("unshare", SBIN);
const noImage = !PODMAN
  ? "no podman on PATH (.ci/run installs it)"
  : !CHROOT || !UNSHARE || process.getuid?.() !== 0
    ? "running it needs root, chroot and unshare"
    : undefined;
const store = await mkdtemp(join(tmpdir(), "echo-podman-"));
afterAll(() => rm(store, { recursive: true, force: true }));

/** The glibc files the Containerfile copies from its first stage (Debian 12 paths), loader first. */
const GLIBC = ["ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2"];

async function podman(args: string[]): Promise<string> {
  const child = runCommand(
    [
      PODMAN!,
      ...["--root", join(store, "root"), "--runroot", join(store, "run")],
      ...["--tmpdir", join(store, "libpod"), "--events-backend", "none"],
      ...["--storage-driver", "vfs"], // no overlay mounts to undo: the store is plain folders
      ...args,
    ],
    { env: { ...SBIN, TMPDIR: store } },
  );
  if ((await child.exited) !== 0)
    throw new Error(`podman ${args[0]} failed:\n${child.err.text}\n${child.out.text}`);
  return child.out.text;
}

interface Image {
  rootfs: string;
  config: { User: string; Entrypoint: string[]; Env: string[]; ExposedPorts: object };
}
const image: Promise<Image> | undefined = noImage
  ? undefined
  : inBackground(async () => {
      await linuxPair;
      // Kept between runs as the builds above are, with the Containerfile and C library too.
      const libraries = GLIBC.map((file) => `/usr/lib/x86_64-linux-gnu/${file}`);
      const inputs = await hashOf([join(ROOT, "deploy", "Containerfile"), ...libraries]);
      const folder = await kept(`image-${inputs}`, async (into) => {
        const config = await buildImage(join(into, "rootfs"));
        await Bun.write(join(into, "config.json"), JSON.stringify(config));
      });
      // Its own copy (hard links) for this run, which adds /proc to it.
      const rootfs = join(store, "rootfs");
      const copy = runCommand(["cp", "-al", join(folder, "rootfs"), rootfs]);
      if ((await copy.exited) !== 0) throw new Error(`cp failed: ${copy.err.text}`);
      return { rootfs, config: JSON.parse(await Bun.file(join(folder, "config.json")).text()) };
    });

/** Builds the image with podman and exports its files to `rootfs`; returns its config. */
async function buildImage(rootfs: string): Promise<Image["config"]> {
  // The C library's stage from this machine's own files: no registry is reachable here.
  const libs = GLIBC.map((file) => `usr/lib/x86_64-linux-gnu/${file}`);
  const tar = runCommand(["tar", "-C", "/", "-chf", join(store, "glibc.tar"), ...libs]);
  if ((await tar.exited) !== 0) throw new Error(`tar failed: ${tar.err.text}`);
  await podman(["import", join(store, "glibc.tar"), "localhost/echo-test-glibc"]);
  const context = join(store, "context");
  await mkdir(join(context, "dist"), { recursive: true });
  await link(join(away, "echo-server"), join(context, "dist", "echo-server-linux-x64"));
  await podman([
    "build",
    "--build-arg",
    "GLIBC_FROM=localhost/echo-test-glibc",
    "--tag",
    "localhost/echo-test",
    "--file",
    join(ROOT, "deploy", "Containerfile"),
    context,
  ]);
  const config = JSON.parse(
    await podman(["image", "inspect", "--format", "{{json .Config}}", "localhost/echo-test"]),
  );
  // The image's files as the store holds them (vfs: a plain folder), linked, not exported:
  // no container to create, no tar to write and read back.
  const files = (await podman(["image", "mount", "localhost/echo-test"])).trim();
  const copy = runCommand(["cp", "-al", files, rootfs]);
  if ((await copy.exited) !== 0) throw new Error(`cp failed: ${copy.err.text}`);
  await podman(["image", "unmount", "localhost/echo-test"]);
  return config;
}

/** A test of the image, once it is built and exported; skipped, saying why, where it cannot be. */
function withImage(name: string, fn: (image: Image) => Promise<void>) {
  if (noImage) test.skip(`${name} (skipped: ${noImage})`, () => {});
  else concurrently(name, async () => fn(await image!), AFTER_A_BUILD_MS);
}

describe("the container image (deploy/Containerfile)", () => {
  withImage(
    "holds the server and the C library only; a numeric non-root user",
    async ({ rootfs, config }) => {
      const files = runCommand(["find", ".", "-type", "f"], { cwd: rootfs });
      expect(await files.exited).toBe(0);
      expect(files.out.all.sort()).toEqual(
        [
          "./echo-server",
          "./lib64/ld-linux-x86-64.so.2",
          ...GLIBC.slice(1).map((file) => `./lib/x86_64-linux-gnu/${file}`),
        ].sort(),
      );
      expect(config.User).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(config.Entrypoint).toEqual(["/echo-server"]);
      expect(config.Env).toEqual(
        expect.arrayContaining([
          "ECHO_MODE=concurrent",
          "ECHO_HOST=0.0.0.0",
          "ECHO_HTTP_HOST=0.0.0.0",
          "ECHO_LOG_FORMAT=json",
        ]),
      );
      const port = config.Env.find((v) => v.startsWith("ECHO_PORT="))!.split("=")[1];
      const httpPort = config.Env.find((v) => v.startsWith("ECHO_HTTP_PORT="))!.split("=")[1];
      expect(Object.keys(config.ExposedPorts).sort()).toEqual(
        [`${port}/tcp`, `${httpPort}/tcp`].sort(),
      );
    },
  );

  withImage(
    "its ENTRYPOINT, as its user on a read-only root: listens, echoes exactly, /healthz, SIGTERM exits 0",
    async ({ rootfs, config }) => {
      await mkdir(join(rootfs, "proc"), { recursive: true }); // where a runtime mounts it
      // As `podman run IMAGE FLAGS...`: the image's environment, the flags after it. Flags win
      // over the image's ECHO_* (its 0.0.0.0 and fixed ports stay unused: tests bind loopback).
      const server = runCommand([
        UNSHARE!,
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && mount -t proc proc "$0/proc" && exec "$@"',
        rootfs,
        "env",
        "-i",
        ...config.Env,
        CHROOT!,
        `--userspec=${config.User}`,
        rootfs,
        ...config.Entrypoint,
        ...["--host", "127.0.0.1", "--port", "0", "--http-host", "127.0.0.1", "--http-port", "0"],
      ]);
      const fail = (error: Error) => {
        throw new Error(`${error.message}\nstderr:\n${server.err.text}`);
      };
      const listening = JSON.parse(await server.out.waitFor(/"event":"listening"/).catch(fail));
      const http = JSON.parse(await server.out.waitFor(/"event":"http"/).catch(fail));
      expect(listening).toMatchObject({ level: "info", host: "127.0.0.1", mode: "concurrent" });
      const status = await Bun.file(`/proc/${server.proc.pid}/status`).text();
      const uid = config.User.split(":")[0];
      expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, "m"));

      const payload = randomBytes(4 << 20);
      const echoes = await Promise.all(
        [1, 2].map(async () => {
          const peer = new Peer(listening.port);
          await peer.connected;
          await peer.send(payload);
          peer.finish();
          await peer.ended;
          return sha256(peer.all());
        }),
      );
      expect(echoes).toEqual([sha256(payload), sha256(payload)]);
      for (const path of ["/healthz", "/readyz"]) {
        const response = await fetch(`http://127.0.0.1:${http.port}${path}`);
        expect(`${path} ${response.status}`).toBe(`${path} 200`);
      }
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(JSON.parse(server.out.all.at(-1)!)).toMatchObject({
        event: "stopped",
        connections: 2,
      });
      expect(server.err.text).toBe("");
    },
  );
});

// Last: these wait for every target's build, and should not hold a place the tests above could use.
describe("bun run build", () => {
  withEveryTarget(
    "a line per file with its size, and SHA256SUMS that match the files",
    async () => {
      const build = await everyTarget;
      expect(build.out.all.filter((l) => /\d MiB$/.test(l))).toHaveLength(15);
      // Where the files went, and how much they weigh in all.
      expect(build.out.all.at(-1)).toMatch(
        new RegExp(
          `^15 files written to ${build.outdir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\([\\d,]+\\.\\d MiB in all\\)$`,
        ),
      );
      const sums = (await Bun.file(join(dist, "SHA256SUMS")).text()).trim().split("\n");
      expect(sums).toHaveLength(15);
      for (const line of sums) {
        const [hash, name] = line.split("  ");
        expect(sha256(await Bun.file(join(dist, name!)).bytes())).toBe(hash!);
      }
    },
  );

  withEveryTarget(
    "every target is an executable of its machine's format",
    async () => {
      const formats = {
        "linux-x64": /ELF 64-bit LSB executable, x86-64/,
        "linux-arm64": /ELF 64-bit LSB executable, ARM aarch64/,
        "darwin-x64": /Mach-O 64-bit x86_64 executable/,
        "darwin-arm64": /Mach-O 64-bit arm64 executable/,
        "windows-x64.exe": /PE32\+ executable \(console\) x86-64, for MS Windows/,
      };
      for (const [target, format] of Object.entries(formats))
        for (const program of ["server", "client"]) {
          const file = runCommand(["file", "-b", join(dist, `echo-${program}-${target}`)]);
          expect(await file.exited).toBe(0);
          expect(file.out.text).toMatch(format);
        }
    },
    !have("file"),
  );

  concurrently("a target whose runtime cannot be fetched fails with one line; exit 1", async () => {
    // An empty cache and a proxy that refuses: the download fails at once, offline or not.
    const home = await mkdtemp(join(tmpdir(), "echo-home-"));
    try {
      const failing = runCommand(
        [BUN, "scripts/build.ts", "--target", "darwin-arm64", "--outdir", join(home, "out")],
        {
          env: {
            HOME: home,
            BUN_INSTALL_CACHE_DIR: join(home, "cache"),
            HTTPS_PROXY: "http://127.0.0.1:1",
            https_proxy: "http://127.0.0.1:1",
            NO_PROXY: "",
            no_proxy: "",
          },
        },
      );
      expect(await failing.exited).toBe(1);
      expect(failing.err.all).toHaveLength(1);
      expect(failing.err.all[0]).toMatch(
        /^error: cannot build echo-server-darwin-arm64 \(bun-darwin-arm64\): Failed to download/,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  concurrently("an unknown target is a usage error", async () => {
    const usage = runCommand([BUN, "scripts/build.ts", "--target", "amiga-m68k"]);
    expect(await usage.exited).toBe(2);
    expect(usage.err.all).toHaveLength(1);
    expect(usage.err.text).toStartWith('error: unknown target "amiga-m68k"');
  });
});

// qemu-user runs the arm64 executable on this x86-64 machine, with Debian's arm64 C library
// (libc6-arm64-cross); .ci/run installs both.
const ARM64_LIBS = "/usr/aarch64-linux-gnu";
const qemu = have("qemu-aarch64") && (await Bun.file(`${ARM64_LIBS}/lib/libc.so.6`).exists());
withEveryTarget(
  "linux-arm64 under qemu-aarch64: the server echoes a line",
  async () => {
    const child = runCommand(
      ["qemu-aarch64", "-L", ARM64_LIBS, join(dist, "echo-server-linux-arm64"), "--port", "0"],
      { cwd: away, env: NO_BUN },
    );
    const line = await child.out.waitFor(/^listening on /);
    const port = Number(/:(\d+) /.exec(line)![1]);
    const peer = new Peer(port);
    await peer.send(new TextEncoder().encode("olá, arm64\n"));
    peer.finish();
    await peer.ended;
    expect(peer.text()).toBe("olá, arm64\n");
    expect(await child.exited).toBe(0); // mode once
  },
  !qemu,
);
