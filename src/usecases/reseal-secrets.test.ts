import { decodeProtectedHeader } from "jose";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { generateMasterKeySpec } from "../crypto/secrets.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { createTestBridge, createTestStore } from "../../test/support/bridge.ts";
import { coreSealedColumns, resealSecrets } from "./reseal-secrets.ts";
import { resolveConnection } from "./connections.ts";

describeEachDatabase("master key rotation: re-sealing secrets", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge | undefined;
  const oldKey = generateMasterKeySpec("old");
  const newKey = generateMasterKeySpec("new");

  beforeEach(async () => {
    db = await makeDb();
  });
  afterEach(async () => {
    await bridge?.close();
    await db.drop();
  });

  const kids = async (b: Bridge) => {
    const stores = await b.deps.db.kysely.selectFrom("stores").select("credentials_enc").execute();
    const conns = await b.deps.db.kysely.selectFrom("provider_connections").select("credentials_enc").execute();
    return [...stores, ...conns].map((r) => decodeProtectedHeader(r.credentials_enc!).kid);
  };

  it("re-seals every secret with the first key, after which the old key can be dropped", async () => {
    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: oldKey } });
    const store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
    expect(new Set(await kids(bridge))).toEqual(new Set(["old"]));
    await bridge.close();

    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: `${newKey},${oldKey}` } });
    const progress: number[] = [];
    expect(await resealSecrets(bridge.deps, coreSealedColumns, (done) => progress.push(done))).toEqual({ checked: 2, resealed: 2, skipped: 0 });
    expect(progress).toEqual([1, 2]);
    expect(new Set(await kids(bridge))).toEqual(new Set(["new"]));
    expect(await resealSecrets(bridge.deps, coreSealedColumns)).toEqual({ checked: 2, resealed: 0, skipped: 0 });
    await bridge.close();

    // Only the new key left: the secrets still open.
    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: newKey } });
    expect((await resolveConnection(bridge.deps, store.connectionId))?.row.provider).toBe("sandbox");
    const sealed = await bridge.deps.db.kysely.selectFrom("stores").select("credentials_enc").executeTakeFirstOrThrow();
    expect(await bridge.deps.secrets.open(sealed.credentials_enc!)).toMatchObject({ endpointUrl: "http://127.0.0.1:9/unused" });
  });
});
