/** The simulator itself follows WooCommerce's documented rules; otherwise the adapter tests prove nothing. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWooOrdersApi } from "../../../src/stores/woocommerce.ts";
import { WooCommerceSimulator } from "./server.ts";

describe("WooCommerce REST simulator", () => {
  let sim: WooCommerceSimulator;
  let key: ReturnType<WooCommerceSimulator["createKey"]>;
  const api = (consumerSecret = key.consumerSecret) => createWooOrdersApi({ url: sim.url, consumerKey: key.consumerKey, consumerSecret }, { timeoutMs: 5000 });

  beforeEach(async () => {
    sim = await new WooCommerceSimulator({ holdStockMinutes: 60 }).start();
    key = sim.createKey();
  });
  afterEach(async () => {
    await sim.stop();
  });

  it("over plain HTTP only OAuth 1.0a authenticates: Basic and query keys get 401", async () => {
    const order = sim.createOrder();
    const basic = await fetch(`${sim.url}/wp-json/wc/v3/orders/${order.id}`, {
      headers: { authorization: `Basic ${Buffer.from(`${key.consumerKey}:${key.consumerSecret}`).toString("base64")}` },
    });
    expect(basic.status).toBe(401);
    const query = await fetch(`${sim.url}/wp-json/wc/v3/orders/${order.id}?consumer_key=${key.consumerKey}&consumer_secret=${key.consumerSecret}`);
    expect(query.status).toBe(401);
    expect((await api().getOrder(String(order.id))).id).toBe(order.id);
  });

  it("OAuth: a wrong secret is an invalid signature; a replayed nonce is refused", async () => {
    const order = sim.createOrder();
    await expect(api(`cs_${"0".repeat(40)}`).getOrder(String(order.id))).rejects.toMatchObject({ status: 401 });
    expect(sim.requests.at(-1)).toMatchObject({ auth: "oauth", status: 401 });

    await api().getOrder(String(order.id));
    const signed = sim.requests.at(-1)!;
    expect(signed.status).toBe(200);
    // Replaying the very same signed URL (same nonce) must fail.
    const replay = await fetch(`${sim.url}${signed.rawUrl}`);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ message: expect.stringContaining("nonce") });
  });

  it("set_paid completes only orders that need payment (pending/failed); on-hold and cancelled are ignored", async () => {
    for (const [status, completes] of [["pending", true], ["failed", true], ["on-hold", false], ["cancelled", false], ["processing", false]] as const) {
      const order = sim.createOrder({ status });
      const after = await api().updateOrder(String(order.id), { set_paid: true, transaction_id: `tx-${status}` });
      expect(after.status, status).toBe(completes ? "processing" : status);
      expect(order.paymentCompleteCount, status).toBe(completes ? 1 : 0);
      expect(order.transaction_id).toBe(`tx-${status}`);
    }
  });

  it("status together with set_paid: the status is applied first, so payment_complete never runs", async () => {
    const order = sim.createOrder();
    const after = await api().updateOrder(String(order.id), { status: "processing", set_paid: true });
    expect(after.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(0);
    expect(order.date_paid_ms).not.toBeNull();
    expect(sim.stock.get(1)).toBe(98);
  });

  it("hold stock: only pending checkout orders older than the window are cancelled, and their stock comes back", async () => {
    const old = sim.createOrder({ ageMinutes: 61 });
    const fresh = sim.createOrder({ ageMinutes: 5 });
    const admin = sim.createOrder({ ageMinutes: 120, created_via: "admin" });
    const held = sim.createOrder({ ageMinutes: 120, status: "on-hold" });
    await api().updateOrder(String(held.id), { status: "on-hold" });
    expect(sim.cancelUnpaidOrders()).toEqual([old.id]);
    expect(old.status).toBe("cancelled");
    expect(old.notes.at(-1)!.note).toContain("Unpaid order cancelled - time limit reached.");
    expect(fresh.status).toBe("pending");
    expect(admin.status).toBe("pending");
    expect(held.status).toBe("on-hold");
  });

  it("hold stock counts from date_modified: a save (REST PUT) restarts the window; notes do not", async () => {
    const saved = sim.createOrder({ ageMinutes: 120 });
    const noted = sim.createOrder({ ageMinutes: 120 });
    await api().updateOrder(String(saved.id), { meta_data: [{ key: "_cartbridge_session_id", value: "cs_x" }] });
    await api().addNote(String(noted.id), "a note is not a save");
    expect((await api().getOrder(String(saved.id)) as unknown as { date_modified_gmt: string }).date_modified_gmt)
      .not.toBe((await api().getOrder(String(noted.id)) as unknown as { date_modified_gmt: string }).date_modified_gmt);
    expect(sim.cancelUnpaidOrders()).toEqual([noted.id]);
    expect(saved.status).toBe("pending");
  });

  it("hold stock: no auto-cancel with stock management off or an empty window", async () => {
    for (const options of [{ manageStock: false, holdStockMinutes: 60 }, { holdStockMinutes: 0 }]) {
      const other = await new WooCommerceSimulator(options).start();
      try {
        const old = other.createOrder({ ageMinutes: 600 });
        expect(other.cancelUnpaidOrders(), JSON.stringify(options)).toEqual([]);
        expect(old.status).toBe("pending");
      } finally {
        await other.stop();
      }
    }
  });

  it("stock: reduced on on-hold/processing, restored on cancelled/pending, never twice", async () => {
    const order = sim.createOrder({ quantity: 3 });
    await api().updateOrder(String(order.id), { status: "on-hold" });
    expect(sim.stock.get(1)).toBe(97);
    await api().updateOrder(String(order.id), { status: "processing" });
    expect(sim.stock.get(1)).toBe(97);
    await api().updateOrder(String(order.id), { status: "cancelled" });
    expect(sim.stock.get(1)).toBe(100);
    await api().updateOrder(String(order.id), { status: "pending" });
    expect(sim.stock.get(1)).toBe(100);
  });

  it("unknown orders are 404, invalid statuses 400, read-only keys cannot write", async () => {
    await expect(api().getOrder("999999")).rejects.toMatchObject({ status: 404 });
    const order = sim.createOrder();
    await expect(api().updateOrder(String(order.id), { status: "paid" })).rejects.toMatchObject({ status: 400 });
    const readOnly = sim.createKey("read");
    const ro = createWooOrdersApi({ url: sim.url, consumerKey: readOnly.consumerKey, consumerSecret: readOnly.consumerSecret }, { timeoutMs: 5000 });
    expect((await ro.getOrder(String(order.id))).id).toBe(order.id);
    await expect(ro.addNote(String(order.id), "x")).rejects.toMatchObject({ status: 401 });
  });
});
