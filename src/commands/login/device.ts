import type { ApiClient } from '../../api/client.js';
import type { Context } from '../../cli/context.js';
import { AuthError } from '../../cli/errors.js';

/**
 * The device login of API.md: show a code and a URL, then poll until the user approves it in a browser.
 * Answers undefined when the server does not offer it (404), so the caller asks for a token instead.
 */
export async function deviceLogin(ctx: Context, client: ApiClient, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<string | undefined> {
  const code = await client.deviceCode();
  if (!code) {
    ctx.log.debug('device login not offered by the server; asking for a token');
    return undefined;
  }
  ctx.io.err(`To log in, open ${code.verificationUri} and enter the code ${code.userCode}\nWaiting for approval…\n`);
  let interval = Math.max(1, code.interval) * 1000;
  const deadline = Date.now() + code.expiresIn * 1000;
  while (Date.now() < deadline) {
    await sleep(interval);
    const answer = await client.deviceToken(code.deviceCode);
    if ('accessToken' in answer) return answer.accessToken;
    // RFC 8628 §3.5: on slow_down the interval grows by 5 seconds for this and later polls.
    if (answer.pending === 'slow_down') interval += 5000;
  }
  throw new AuthError('the device code expired before it was approved; run envmgr login again');
}
