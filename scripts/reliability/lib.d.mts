// Types of what the TypeScript tests import from lib.mjs (the suites' shared parts, plain JS run by node).

/**
 * A clean environment for the CLI: nothing of the caller's own envmgr setup, proxies or CI flags; the run's TMPDIR
 * kept; a Secret Service address that fails fast (the keychain tests set up their own).
 */
export function cliEnv(home: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
