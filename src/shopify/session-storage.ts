/**
 * The library's session storage, kept in the bridge's own database. There is no kysely package
 * (`@shopify/shopify-app-session-storage-*` covers mysql, sqlite… but not both behind one interface), so
 * this follows the published `SessionStorage` contract: the session is serialized with
 * `toPropertyArray(true)` and restored with `Session.fromPropertyArray`. The whole serialized session,
 * access token included, is sealed as JWE with the bridge's master keys: a database dump leaks no token.
 */
import { Session } from "@shopify/shopify-api";
import type { Kysely } from "kysely";
import type { SecretBox } from "../crypto/secrets.ts";
import type { Database } from "../db/schema.ts";
import { shopifyDb } from "./tables.ts";

type SessionProperties = ReturnType<Session["toPropertyArray"]>;

export class KyselySessionStorage {
  private readonly db;

  constructor(
    kysely: Kysely<Database>,
    private readonly secrets: SecretBox,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.db = shopifyDb(kysely);
  }

  async storeSession(session: Session): Promise<boolean> {
    const sealed = await this.secrets.seal(session.toPropertyArray(true));
    const values = { shop: session.shop, is_online: session.isOnline ? 1 : 0, session_enc: sealed, updated_at: this.now().getTime() };
    // Update-then-insert rather than an upsert, whose syntax differs between SQLite and MariaDB.
    const updated = await this.db.updateTable("shopify_sessions").set(values).where("id", "=", session.id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      try {
        await this.db.insertInto("shopify_sessions").values({ id: session.id, ...values }).execute();
      } catch {
        await this.db.updateTable("shopify_sessions").set(values).where("id", "=", session.id).execute();
      }
    }
    return true;
  }

  async loadSession(id: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom("shopify_sessions").select("session_enc").where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    return Session.fromPropertyArray(await this.secrets.open<SessionProperties>(row.session_enc), true);
  }

  async deleteSession(id: string): Promise<boolean> {
    await this.db.deleteFrom("shopify_sessions").where("id", "=", id).execute();
    return true;
  }

  async deleteSessions(ids: string[]): Promise<boolean> {
    if (ids.length) await this.db.deleteFrom("shopify_sessions").where("id", "in", ids).execute();
    return true;
  }

  async findSessionsByShop(shop: string): Promise<Session[]> {
    const rows = await this.db.selectFrom("shopify_sessions").select("session_enc").where("shop", "=", shop).execute();
    return Promise.all(rows.map(async (r) => Session.fromPropertyArray(await this.secrets.open<SessionProperties>(r.session_enc), true)));
  }
}
