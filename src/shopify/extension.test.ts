import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockFor, nextPollMs, preparingLimitMs, preparingReason as extensionPreparingReason } from "../../shopify-app/extensions/pay-with-crypto/src/view.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, postWebhook, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import { applyPaymentObservation } from "../usecases/apply-payment.ts";
import { preparingReason, type OrderPaymentView } from "./orders.ts";

describeWithShopify("Thank-you / Order status extension endpoint", (schemas) => {
  let db: TestDatabase;
  let world: ShopifyWorld;
  beforeEach(async () => {
    db = await createSqliteDatabase();
    world = await createShopifyWorld(db.url, schemas);
    await installWithSandbox(world);
  });
  afterEach(async () => {
    await world.close();
    await db.drop();
    expect(world.shopify.schemaViolations).toEqual([]);
  });

  const view = async (orderId: string) => {
    const res = await world.bridge.app.request(`/shopify/extension/orders/${encodeURIComponent(`gid://shopify/OrderIdentity/${orderId}`)}`, {
      headers: { authorization: `Bearer ${await world.shopify.sessionToken(testShop)}` },
    });
    expect(res.status).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  };

  it("shows the open session with its pay link; the buyer can come back to it; once paid, no link", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
    const first = await view(order.id);
    expect(first).toMatchObject({ status: "open", paid: false, amount: "25.00", currency: "USD" });
    expect(first.payUrl).toMatch(/^http:\/\/bridge\.test\/pay\/cs_/);
    expect(await view(order.id)).toEqual(first); // resuming later: the same session

    const hosted = (await world.bridge.app.request(new URL(first.payUrl as string).pathname)).headers.get("location")!;
    await simulate(world.bridge, hosted, "paid");
    await drain(world.bridge);
    const after = await view(order.id);
    expect(after).toMatchObject({ status: "paid", paid: true, amountPaid: "25.00" });
    expect(after.payUrl).toBeUndefined();
  });

  it("if the buyer is faster than orders/create, the session is made then, and the webhook finds it", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    const first = await view(order.id);
    expect(first.status).toBe("open");
    const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
    expect((await res.json()).outcome).toBe("session exists");
    expect(await world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().execute()).toHaveLength(1);
  });

  it("processing (paid, confirming): no pay link, so the buyer is not asked to pay twice", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    const first = await view(order.id);
    await applyPaymentObservation(world.bridge.deps, String(first.payUrl).split("/pay/")[1]!, { outcome: "processing", transactions: [], source: "test" });
    const confirming = await view(order.id);
    expect(confirming).toMatchObject({ status: "processing", paid: false });
    expect(confirming.payUrl).toBeUndefined();
    expect(blockFor(confirming as never, 0)).toEqual({ kind: "confirming", text: "25.00 USD" });
  });

  it("an order the Admin API does not know yet is `being prepared`, and gets its session once it does", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    world.shopify.orders.delete(`${testShop}/${order.id}`);
    expect(await view(order.id)).toEqual({ status: "none", paid: false, reason: preparingReason });
    world.shopify.orders.set(`${testShop}/${order.id}`, order);
    expect(await view(order.id)).toMatchObject({ status: "open", paid: false });
  });

  it("answers an OPTIONS preflight from the extension's origin", async () => {
    const res = await world.bridge.app.request("/shopify/extension/orders/1", {
      method: "OPTIONS", headers: { origin: "https://extensions.shopifycdn.com", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
  });
});

describe("the block's decisions (shopify-app/extensions/pay-with-crypto/src/view.ts)", () => {
  const due: OrderPaymentView = { status: "open", paid: false, payUrl: "https://bridge.test/pay/cs_1", amount: "25.00", amountPaid: "0.00", currency: "USD", expiresAt: "2026-01-01T00:00:00.000Z" };

  it("processing is shown as confirming (info), never as due with a Pay button, even if a link came along", () => {
    expect(blockFor({ ...due, status: "processing" }, 0)).toEqual({ kind: "confirming", text: "25.00 USD" });
    expect(nextPollMs(blockFor({ ...due, status: "processing" }, 0), 1)).toBeGreaterThan(0);
    expect(blockFor(due, 0)).toMatchObject({ kind: "due", underpaid: false, payUrl: due.payUrl });
  });

  it("`being prepared` keeps polling for a bounded time, then says the status is unavailable", () => {
    expect(extensionPreparingReason).toBe(preparingReason);
    const preparing: OrderPaymentView = { status: "none", paid: false, reason: preparingReason };
    expect(blockFor(preparing, 0)).toEqual({ kind: "preparing" });
    expect(nextPollMs(blockFor(preparing, preparingLimitMs - 1), 500)).toBeGreaterThan(0);
    expect(blockFor(preparing, preparingLimitMs)).toEqual({ kind: "unavailable" });
    expect(nextPollMs(blockFor(preparing, preparingLimitMs), 1)).toBeUndefined();
    expect(blockFor({ status: "none", paid: false, reason: "payment method is card, not Pay with crypto" }, 0)).toEqual({ kind: "hidden" });
  });
});
