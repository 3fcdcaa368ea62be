/**
 * The buyer's page for an `evm` session (mounted at /p/evm): amount and token, deposit address, a QR code
 * of the EIP-681 payment URI, copy buttons, a countdown, and a status that updates itself by polling a
 * small JSON endpoint; once paid it sends the buyer to the store's success URL. Works on a phone.
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import QRCode from "qrcode";
import { formatUnits } from "../../src/domain/money.ts";
import { isSettledPaid, type SessionStatus } from "../../src/domain/session-status.ts";
import type { HostedSessionView, PluginHost } from "../types.ts";
import { formatTokenUnits, paymentUri } from "./amounts.ts";

interface DepositView {
  chainId: number;
  chainName: string;
  asset: { kind: string; symbol: string; decimals: number; address?: string };
  depositAddress: string;
  amountUnits: string;
  amountDisplay: string;
  confirmations: number;
  paymentUri: string;
  /** Token units credited so far (written by the watcher). */
  paidUnits?: string;
}

function depositOf(session: HostedSessionView): DepositView | undefined {
  const d = session.providerData as Partial<DepositView>;
  return d.depositAddress && d.paymentUri && d.asset ? (d as DepositView) : undefined;
}

/**
 * What is still to pay, in the token: the page then shows and encodes (QR, wallet link) the rest, not the
 * whole amount, so a buyer who sent part of it does not pay twice.
 */
export function remainingOf(deposit: DepositView) {
  const due = BigInt(deposit.amountUnits);
  const paid = BigInt(deposit.paidUnits ?? "0");
  const remaining = paid < due ? due - paid : 0n;
  const partly = paid > 0n && remaining > 0n;
  return {
    paidAmount: formatTokenUnits(paid, deposit.asset.decimals),
    remainingAmount: formatTokenUnits(remaining, deposit.asset.decimals),
    partly,
    // The EIP-681 request for what is left (the original one while nothing is paid).
    uri: partly ? paymentUri(deposit.chainId, deposit.depositAddress, deposit.asset, remaining) : deposit.paymentUri,
  };
}

const qrOf = (uri: string) => QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 1 });

/** What the page shows for a status: a label and whether the page should stop polling. */
export function statusView(status: SessionStatus): { label: string; final: boolean } {
  switch (status) {
    case "open":
      return { label: "Waiting for your payment", final: false };
    case "processing":
      return { label: "Payment seen — waiting for confirmations", final: false };
    case "paid":
    case "paid_late":
    case "overpaid":
      return { label: "Paid — thank you", final: true };
    case "underpaid":
      return { label: "Partly paid — please send the rest to the same address", final: false };
    case "expired":
      return { label: "This payment request has expired", final: true };
    case "failed":
      return { label: "This payment failed", final: true };
    case "canceled":
      return { label: "This payment was canceled", final: true };
    default: {
      const never: never = status;
      throw new Error(`unhandled status ${String(never)}`);
    }
  }
}

export function evmPageRoutes(host: PluginHost): Hono {
  const app = new Hono();
  const load = async (connectionId: string, providerSessionId: string) => {
    const session = await host.findSessionByProviderRef(connectionId, providerSessionId);
    const deposit = session ? depositOf(session) : undefined;
    return session && deposit ? { session, deposit } : undefined;
  };

  app.get("/checkout/:connectionId/:providerSessionId", async (c) => {
    const found = await load(c.req.param("connectionId"), c.req.param("providerSessionId"));
    if (!found) return c.html(shell("Not found", html`<p>No payment request here.</p>`), 404);
    const svg = await qrOf(remainingOf(found.deposit).uri);
    const statusUrl = `${c.req.path.replace("/checkout/", "/status/")}`;
    return c.html(checkoutPage(found.session, found.deposit, svg, statusUrl, host.now()));
  });

  app.get("/status/:connectionId/:providerSessionId", async (c) => {
    const found = await load(c.req.param("connectionId"), c.req.param("providerSessionId"));
    if (!found) return c.json({ error: "not_found" }, 404);
    const { session, deposit } = found;
    const view = statusView(session.status);
    const left = remainingOf(deposit);
    c.header("cache-control", "no-store");
    return c.json({
      status: session.status,
      label: view.label,
      final: view.final,
      paid: isSettledPaid(session.status),
      paidAmount: left.paidAmount,
      remainingAmount: left.remainingAmount,
      ...(left.partly && !view.final ? { remainingUri: left.uri, qrSvg: await qrOf(left.uri) } : {}),
      expiresAt: session.expiresAt.toISOString(),
      ...(isSettledPaid(session.status) ? { redirectUrl: session.successUrl } : {}),
      ...(view.final && !isSettledPaid(session.status) ? { redirectUrl: session.cancelUrl } : {}),
    });
  });
  return app;
}

function checkoutPage(session: HostedSessionView, deposit: DepositView, qrSvg: string, statusUrl: string, now: Date) {
  const fiat = `${formatUnits(session.amountMinor, session.currencyExponent)} ${session.currency}`;
  const view = statusView(session.status);
  const left = remainingOf(deposit);
  const amountShown = left.partly ? left.remainingAmount : deposit.amountDisplay;
  const tokenLine = deposit.asset.kind === "erc20" ? `${deposit.asset.symbol} (token ${deposit.asset.address})` : `${deposit.asset.symbol} (native coin)`;
  const config = JSON.stringify({
    statusUrl,
    expiresAt: session.expiresAt.getTime(),
    // The page's countdown uses the server's clock, corrected for the device's.
    serverNow: now.getTime(),
    symbol: deposit.asset.symbol,
  });
  return shell(
    `Pay ${deposit.amountDisplay} ${deposit.asset.symbol}`,
    html`<p class="muted">Order ${session.orderNumber ?? session.orderId} · ${fiat}</p>
<div class="card">
  <div class="status" data-testid="status" data-status="${session.status}">${view.label}</div>
  <div class="qr" data-testid="qr" aria-label="QR code with the payment request">${raw(qrSvg)}</div>
  <p class="remaining" data-testid="remaining" id="remaining"${left.partly ? "" : raw(" hidden")}>Received ${left.paidAmount} ${deposit.asset.symbol}: send the remaining <strong>${left.remainingAmount} ${deposit.asset.symbol}</strong>.</p>
  <label>Amount</label>
  <div class="row"><code data-testid="amount" id="amount">${amountShown}</code><span class="unit">${deposit.asset.symbol}</span>
    <button type="button" data-copy="amount">Copy</button></div>
  <label>To this address</label>
  <div class="row"><code data-testid="address" id="address">${deposit.depositAddress}</code>
    <button type="button" data-copy="address">Copy</button></div>
  <label>Network</label>
  <div class="row"><span data-testid="network">${deposit.chainName} (chain ${deposit.chainId}) · ${tokenLine}</span></div>
  <p class="muted">Send exactly this amount on this network. Credited after ${deposit.confirmations} confirmation${deposit.confirmations === 1 ? "" : "s"}.
  Expires in <strong data-testid="countdown" id="countdown">…</strong>.</p>
  <p><a class="button" id="wallet" data-testid="wallet" href="${left.uri}">Open in wallet</a></p>
</div>
<p><a href="${session.cancelUrl}">Back to the store</a></p>
<script>
(function(){
  var cfg = ${raw(config.replace(/</g, "\\u003c"))};
  var skew = cfg.serverNow - Date.now();
  var statusEl = document.querySelector('[data-testid="status"]');
  var remainingEl = document.getElementById('remaining');
  var countdown = document.getElementById('countdown');
  function tick(){
    var left = Math.max(0, cfg.expiresAt - (Date.now() + skew));
    var m = Math.floor(left / 60000), s = Math.floor(left / 1000) % 60;
    countdown.textContent = m + ':' + (s < 10 ? '0' : '') + s;
  }
  tick(); setInterval(tick, 1000);
  document.querySelectorAll('[data-copy]').forEach(function(btn){
    btn.addEventListener('click', function(){
      var target = document.getElementById(btn.getAttribute('data-copy'));
      var say = function(label){ btn.textContent = label; setTimeout(function(){ btn.textContent = 'Copy'; }, 2500); };
      // A refused or missing clipboard says so and selects the text, so the buyer can copy it by hand.
      var failed = function(){ getSelection().selectAllChildren(target); say('Copy failed: text selected'); };
      if (!navigator.clipboard || !navigator.clipboard.writeText) return failed();
      navigator.clipboard.writeText(target.textContent).then(function(){ say('Copied'); }, failed);
    });
  });
  var stopped = false;
  function poll(){
    if (stopped) return;
    fetch(cfg.statusUrl, { cache: 'no-store' }).then(function(r){ return r.json(); }).then(function(s){
      statusEl.textContent = s.label;
      statusEl.setAttribute('data-status', s.status);
      if (s.remainingUri) {
        // Partly paid: the amount, the QR code and the wallet link ask for the rest only.
        remainingEl.querySelector('strong').textContent = s.remainingAmount + ' ' + cfg.symbol;
        remainingEl.firstChild.textContent = 'Received ' + s.paidAmount + ' ' + cfg.symbol + ': send the remaining ';
        remainingEl.hidden = false;
        document.getElementById('amount').textContent = s.remainingAmount;
        document.getElementById('wallet').setAttribute('href', s.remainingUri);
        if (s.qrSvg) document.querySelector('[data-testid="qr"]').innerHTML = s.qrSvg;
      }
      if (s.final) { stopped = true; if (s.redirectUrl) setTimeout(function(){ location.href = s.redirectUrl; }, s.paid ? 1500 : 4000); }
    }).catch(function(){}).then(function(){ if (!stopped) setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
</script>`,
  );
}

function shell(title: string, body: unknown) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;max-width:30rem;margin:0 auto;padding:1rem;color:#111827;line-height:1.4;overflow-wrap:anywhere}
h1{font-size:1.35rem;margin:.5rem 0}
.muted{color:#6b7280;font-size:.9rem}
.card{border:1px solid #e5e7eb;border-radius:.75rem;padding:1rem}
.status{font-weight:600;padding:.5rem .75rem;border-radius:.5rem;background:#eff6ff;color:#1e3a8a;margin-bottom:.75rem}
.status[data-status=paid],.status[data-status=paid_late],.status[data-status=overpaid]{background:#ecfdf5;color:#065f46}
.status[data-status=underpaid]{background:#fffbeb;color:#92400e}
.remaining{background:#fffbeb;color:#92400e;padding:.5rem .75rem;border-radius:.5rem}
.qr{width:min(16rem,100%);margin:0 auto .75rem}.qr svg{width:100%;height:auto;display:block}
label{display:block;font-size:.8rem;color:#6b7280;margin-top:.5rem}
.row{display:flex;align-items:center;gap:.5rem;flex-wrap:wrap}
code{font-size:.95rem;word-break:break-all;background:#f3f4f6;padding:.3rem .4rem;border-radius:.3rem;flex:1 1 12rem;min-width:0}
.unit{font-weight:600}
button{padding:.45rem .8rem;border:1px solid #d1d5db;background:#fff;border-radius:.4rem;font-size:.9rem}
.button{display:block;text-align:center;padding:.75rem;background:#111827;color:#fff;border-radius:.5rem;text-decoration:none}
</style></head><body><h1>${title}</h1>${body}</body></html>`;
}
