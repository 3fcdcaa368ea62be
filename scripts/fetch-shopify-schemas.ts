/**
 * Fetches Shopify's Admin and Payments Apps GraphQL schemas (the API version the bridge targets) into
 * test/.cache/shopify-schemas/. The tests do this on their own; this is for doing it ahead of time
 * (e.g. in a CI image): `npx tsx scripts/fetch-shopify-schemas.ts`.
 */
import { schemaCacheDir, shopifySchemas } from "../test/simulators/shopify/schemas.ts";

const result = await shopifySchemas();
if (!result.ok) {
  console.error(result.reason);
  process.exit(1);
}
console.log(`Shopify schemas ready in ${schemaCacheDir}`);
