// The app's session: the signed-in account and the instance's documents, loaded once.

import { ApiError, api, type Account, type Instance } from "./lib/api";

export interface Session {
  me: Account;
  instance: Instance;
}

let session: Session | null = null;

export async function loadSession(): Promise<Session> {
  const [me, instance] = await Promise.all([
    api<Account>("/api/v1/accounts/verify_credentials"),
    api<Instance>("/api/v2/instance"),
  ]);
  session = { me, instance };
  return session;
}

/** Whether a failed `loadSession` means the sign-in is gone: only the server's 401 (the
 * token revoked, expired or unknown) does. Offline, a busy or failing server (503, 500) or a
 * rate limit (429) leave the person signed in, as in Mastodon's web app. */
export function signInRefused(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

export function current(): Session | null {
  return session;
}

export function clear(): void {
  session = null;
}
