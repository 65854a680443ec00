/** A stored oidc-provider artifact (session, grant, code, token, interaction). */
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

/**
 * In-memory storage for the development provider (oidc-provider's adapter interface). Sessions,
 * grants and codes live as long as the process; access tokens are JWTs and need no storage.
 * Entries expire after the `expiresIn` seconds oidc-provider gives.
 */
export class DevMemoryStore {
  private static readonly entries = new Map<string, { payload: Payload; expiresAt: number }>();
  private static readonly grants = new Map<string, Set<string>>();

  constructor(private readonly model: string) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
    const key = this.key(id);
    DevMemoryStore.entries.set(key, { payload, expiresAt: Date.now() + expiresIn * 1000 });
    if (payload.grantId) {
      const keys = DevMemoryStore.grants.get(payload.grantId) ?? new Set<string>();
      keys.add(key);
      DevMemoryStore.grants.set(payload.grantId, keys);
    }
  }

  async find(id: string): Promise<Payload | undefined> {
    const entry = DevMemoryStore.entries.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt < Date.now()) {
      DevMemoryStore.entries.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    for (const [key, entry] of DevMemoryStore.entries) {
      if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid)
        return this.find(key.slice(this.model.length + 1));
    }
    return undefined;
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    for (const [key, entry] of DevMemoryStore.entries) {
      if (key.startsWith(`${this.model}:`) && entry.payload.userCode === userCode)
        return this.find(key.slice(this.model.length + 1));
    }
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = DevMemoryStore.entries.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    DevMemoryStore.entries.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of DevMemoryStore.grants.get(grantId) ?? []) DevMemoryStore.entries.delete(key);
    DevMemoryStore.grants.delete(grantId);
  }
}
