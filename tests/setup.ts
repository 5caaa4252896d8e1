/** Preloaded before every test file (bunfig.toml): hooks here apply to all of them. */
import { afterAll, afterEach, setDefaultTimeout } from "bun:test";
import { killChildren, killLeftovers, TEST_TIMEOUT_MS } from "./helpers.ts";

// For the first file only, in Bun 1.4.5 (measured): the side-by-side tests carry their own
// (helpers.ts), and a plain test stays well under the 5 s default in the files after it.
setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(killChildren);
afterAll(killLeftovers); // of side-by-side tests that timed out
