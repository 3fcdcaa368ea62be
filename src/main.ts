/**
 * The composition root: the only module that names concrete providers and store adapters.
 * `npx cartbridge <command>` and `npm start` land here.
 */
import { pathToFileURL } from "node:url";
import type { AnyPaymentProvider } from "../plugins/types.ts";
import { sandboxProvider } from "../plugins/sandbox/index.ts";
import { sprintcheckoutProvider } from "../plugins/sprintcheckout/index.ts";
import { gstableProvider } from "../plugins/gstable/index.ts";
import { cryptoCheckoutProvider } from "../plugins/cryptocheckout/index.ts";
import { satsrailProvider } from "../plugins/satsrail/index.ts";
import { btcpayProvider } from "../plugins/btcpay/index.ts";
import { chainVerifierFromEnv, evmProvider, startEvmWatcher } from "../plugins/evm/index.ts";
import { runCli, type CliPlugins } from "./cli/commands.ts";
import type { AnyStoreAdapter } from "./stores/port.ts";
import { customStoreAdapter } from "./stores/custom.ts";
import { woocommerceStoreAdapter } from "./stores/woocommerce.ts";
import { shopifyRoutes, shopifyStoreAdapter } from "./stores/shopify.ts";
import { parseMtlsHeader } from "./shopify/api.ts";
import { wcAuthRoutes } from "./http/routes/wc-auth.ts";
import type { BridgeDeps } from "./deps.ts";
import { consoleRoutes } from "./console/index.ts";
import { openapiRoutes } from "./api/openapi.ts";
import { metricsRoutes } from "./metrics/index.ts";

export const builtinProviders: AnyPaymentProvider[] = [
  sandboxProvider,
  sprintcheckoutProvider,
  gstableProvider,
  cryptoCheckoutProvider,
  satsrailProvider,
  btcpayProvider,
  evmProvider,
];

export const builtinStoreAdapters: AnyStoreAdapter[] = [customStoreAdapter, woocommerceStoreAdapter, shopifyStoreAdapter];

/** Route groups of the store platforms and the console, mounted beside the core API. */
export function builtinMounts(deps: BridgeDeps) {
  const config = deps.config;
  const shopify =
    config.SHOPIFY_API_KEY && config.SHOPIFY_API_SECRET
      ? [{
          path: "/shopify",
          app: shopifyRoutes(deps, {
            apiKey: config.SHOPIFY_API_KEY,
            apiSecret: config.SHOPIFY_API_SECRET,
            ...(config.SHOPIFY_APP_URL ? { appUrl: config.SHOPIFY_APP_URL } : {}),
            ...(config.SHOPIFY_SCOPES ? { scopes: config.SHOPIFY_SCOPES.split(",").map((s) => s.trim()) } : {}),
            ...(config.SHOPIFY_PAYMENT_METHOD_NAME ? { manualPaymentMethodName: config.SHOPIFY_PAYMENT_METHOD_NAME } : {}),
            livemode: config.SHOPIFY_LIVEMODE,
            paymentsMtlsHeader: parseMtlsHeader(config.SHOPIFY_PAYMENTS_MTLS_HEADER),
            paymentsRefunds: config.SHOPIFY_PAYMENTS_REFUNDS,
          }),
        }]
      : [];
  return [
    ...shopify,
    { path: "/woocommerce", app: wcAuthRoutes(deps) },
    { path: "/dashboard", app: consoleRoutes(deps) },
    { path: "/", app: openapiRoutes(deps) }, // GET /openapi.json, GET /docs
    { path: "/metrics", app: metricsRoutes(deps) },
  ];
}

export const builtinPlugins: CliPlugins = {
  providers: builtinProviders,
  storeAdapters: builtinStoreAdapters,
  mounts: builtinMounts,
  chainVerifier: (config) =>
    chainVerifierFromEnv({
      EVM_VERIFY_RPC_URLS: config.EVM_VERIFY_RPC_URLS,
      EVM_VERIFY_CONFIRMATIONS: config.EVM_VERIFY_CONFIRMATIONS?.toString(),
      EVM_VERIFY_TOKENS: config.EVM_VERIFY_TOKENS,
    }),
  background: [(deps) => startEvmWatcher(deps)],
  sealedColumns: [{ table: "shopify_sessions", key: "id", column: "session_enc" }],
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runCli(process.argv.slice(2), builtinPlugins).then((code) => {
    process.exitCode = code;
  });
}
