// The app's session: the signed-in account and the instance's documents, loaded once.

import { api, type Account, type Instance } from "./lib/api";

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

export function current(): Session | null {
  return session;
}

export function clear(): void {
  session = null;
}
