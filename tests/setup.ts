/** Preloaded before every test file (bunfig.toml): hooks here apply to all of them. */
import { afterEach, setDefaultTimeout } from "bun:test";
import { killChildren } from "./helpers.ts";

// Large-payload tests move tens of MiB through real sockets: more than the 5 s default, and far
// less than a hang would take.
setDefaultTimeout(30_000);
afterEach(killChildren);
