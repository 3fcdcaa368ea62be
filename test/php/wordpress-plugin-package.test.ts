/**
 * `wordpress-plugin/` can be zipped and installed as it is: layout, headers, translations, PHP syntax
 * (lint with php -l, and no PHP 8-only syntax since the plugin promises PHP 7.4), and the Blocks script.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "../../wordpress-plugin");
const has = (cmd: string, args: string[]) => spawnSync(cmd, args).status === 0;
const missing = [
  has("php", ["-v"]) ? undefined : "php-cli",
  has("zip", ["-v"]) ? undefined : "zip",
  has("unzip", ["-v"]) ? undefined : "unzip",
].filter(Boolean);
const reason = missing.length ? `${missing.join(", ")} not installed (Debian: apt-get install php-cli zip unzip)` : undefined;
if (reason) console.warn(`\n*** ${reason}\n*** ${process.env.CI === "true" ? "CI=true: plugin packaging tests FAIL" : "plugin packaging tests are SKIPPED"}\n`);
const describeTools = reason
  ? process.env.CI === "true"
    ? (name: string, _body: () => void) => describe(name, () => it("needs php, zip and unzip under CI", () => { throw new Error(reason); }))
    : (name: string, body: () => void) => describe.skip(`${name} — skipped: ${reason}`, body)
  : describe;

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

/** The code without comments and strings (PHP's own tokenizer), so text never looks like syntax. */
function codeOnly(source: string): string {
  const strip = "foreach (token_get_all(stream_get_contents(STDIN)) as $t) { if (is_array($t) && in_array($t[0], [T_COMMENT, T_DOC_COMMENT, T_CONSTANT_ENCAPSED_STRING, T_ENCAPSED_AND_WHITESPACE, T_INLINE_HTML], true)) { echo $t[0] === T_CONSTANT_ENCAPSED_STRING ? \"''\" : ' '; continue; } echo is_array($t) ? $t[1] : $t; }";
  const run = spawnSync("php", ["-r", strip], { input: source, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`php tokenizer: ${run.stderr}`);
  return run.stdout;
}

/** PHP 8.0+ syntax and functions a PHP 7.4 install would choke on; `all` is the whole plugin, for polyfills. */
function php8Syntax(source: string, all: string): string[] {
  const code = codeOnly(source);
  const found: string[] = [];
  const rules: [string, RegExp][] = [
    // An identifier (no $) and a single colon right after "(" or ",": a named argument.
    ["named argument", /[(,]\s*[A-Za-z_]\w*\s*:(?!:)/],
    ["union type (parameter)", /[(,]\s*\??[A-Za-z_\\][\w\\]*\s*\|\s*[A-Za-z_\\][\w\\]*\s+&?(?:\.\.\.)?\$/],
    ["union type (return)", /\)\s*:\s*\??[A-Za-z_\\][\w\\]*\s*\|/],
    ["constructor promotion", /function\s+__construct\s*\([^{]*?\b(?:public|private|protected)\b/],
    ["trailing comma in a parameter list", /\bfunction\b[^{;]*?,\s*\)\s*(?::|\{|\buse\b|;)/],
    ["catch without a variable", /\bcatch\s*\([^)$]*\)/],
    ["match", /\bmatch\s*\(/],
    ["nullsafe operator", /\?->/],
    ["attribute", /#\[/],
    ["mixed type", /\bfunction\b[^{;]*?\bmixed\b/],
    ["enum", /\benum\s+\w+/],
    ["readonly", /\breadonly\s+/],
  ];
  for (const [name, rule] of rules) if (rule.test(code)) found.push(name);
  for (const fn of ["str_contains", "str_starts_with", "str_ends_with"]) {
    const polyfilled = new RegExp(`function_exists\\(\\s*'${fn}'\\s*\\)[\\s\\S]*?function\\s+${fn}\\s*\\(`).test(all);
    if (new RegExp(`(?<![\\w>$])${fn}\\s*\\(`).test(code.replace(new RegExp(`function\\s+${fn}\\s*\\(`, "g"), "")) && !polyfilled) found.push(`${fn} without a polyfill`);
  }
  return found;
}

describeTools("wordpress-plugin package", () => {
  it("build-zip.sh makes an installable zip: one top folder, main file header, readme.txt, .pot, uninstall.php", () => {
    const dir = mkdtempSync(join(tmpdir(), "cartbridge-zip-"));
    try {
      const zipPath = join(dir, "plugin.zip");
      execFileSync(join(pluginDir, "build-zip.sh"), [zipPath]);
      const listing = execFileSync("unzip", ["-Z1", zipPath], { encoding: "utf8" }).split("\n").filter(Boolean);
      expect(listing.every((p) => p.startsWith("cartbridge-for-woocommerce/"))).toBe(true);
      for (const required of [
        "cartbridge-for-woocommerce/cartbridge-for-woocommerce.php",
        "cartbridge-for-woocommerce/readme.txt",
        "cartbridge-for-woocommerce/uninstall.php",
        "cartbridge-for-woocommerce/languages/cartbridge-for-woocommerce.pot",
        "cartbridge-for-woocommerce/assets/js/blocks.js",
        "cartbridge-for-woocommerce/includes/class-cartbridge-gateway.php",
        "cartbridge-for-woocommerce/includes/class-cartbridge-blocks.php",
      ]) {
        expect(listing).toContain(required);
      }
      expect(listing.some((p) => p.endsWith("build-zip.sh"))).toBe(false);
      execFileSync("unzip", ["-q", zipPath, "-d", join(dir, "x")]);
      const main = readFileSync(join(dir, "x/cartbridge-for-woocommerce/cartbridge-for-woocommerce.php"), "utf8");
      for (const header of ["Plugin Name:", "Version:", "Requires PHP:      7.4", "Requires Plugins:  woocommerce", "Text Domain:       cartbridge-for-woocommerce", "Domain Path:       /languages", "License:", "WC requires at least:"]) {
        expect(main).toContain(header);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("readme.txt follows the WordPress.org format and matches the plugin version", () => {
    const readme = readFileSync(join(pluginDir, "readme.txt"), "utf8");
    const main = readFileSync(join(pluginDir, "cartbridge-for-woocommerce.php"), "utf8");
    expect(readme).toMatch(/^=== Cartbridge for WooCommerce ===/);
    for (const field of ["Requires at least:", "Tested up to:", "Requires PHP:", "Stable tag:", "License:"]) expect(readme).toContain(field);
    for (const section of ["== Description ==", "== Installation ==", "== External services ==", "== Frequently Asked Questions ==", "== Changelog =="]) expect(readme).toContain(section);
    // WordPress.org requires disclosing each external service: what is sent, when, and whose terms apply.
    const services = readme.slice(readme.indexOf("== External services =="), readme.indexOf("== Frequently Asked Questions =="));
    for (const disclosed of ["Bridge URL", "billing email", "order key", "consumer key and secret", "terms", "privacy"]) expect(services).toContain(disclosed);
    const version = /\* Version:\s+(\S+)/.exec(main)![1];
    expect(readme).toContain(`Stable tag: ${version}`);
    expect(main).toContain(`define( 'CARTBRIDGE_VERSION', '${version}' )`);
  });

  it("every PHP file lints, starts guarded against direct access, and uses no PHP 8-only syntax", () => {
    const files = filesUnder(pluginDir, ".php");
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const lint = spawnSync("php", ["-l", file], { encoding: "utf8" });
      expect(lint.status, `${relative(pluginDir, file)}: ${lint.stdout}${lint.stderr}`).toBe(0);
      const code = readFileSync(file, "utf8");
      const name = relative(pluginDir, file);
      if (name !== "uninstall.php" && !name.endsWith("index.php")) expect(code, name).toContain("defined( 'ABSPATH' ) || exit;");
    }
    const all = files.map((f) => readFileSync(f, "utf8")).join("\n");
    for (const file of files) expect(php8Syntax(readFileSync(file, "utf8"), all), relative(pluginDir, file)).toEqual([]);
  });

  it("the PHP 7.4 guard catches each PHP 8-only construct and passes PHP 7.4 code", () => {
    const php8: Record<string, string> = {
      "named argument": "<?php\nhtml_entity_decode( $s, flags: ENT_QUOTES );",
      "union type (parameter)": "<?php\nfunction f( int|string $a ) {}",
      "union type (return)": "<?php\nfunction f( $a ): int|false { return 1; }",
      "constructor promotion": "<?php\nclass A { public function __construct( private $client ) {} }",
      "trailing comma in a parameter list": "<?php\nfunction f(\n\t$a,\n\t$b = array(),\n) {}",
      "catch without a variable": "<?php\ntry { f(); } catch ( Exception ) {}",
      "match": "<?php\n$x = match ( $a ) { 1 => 'a', default => 'b' };",
      "nullsafe operator": "<?php\n$x = $order?->get_id();",
      "str_contains without a polyfill": "<?php\nif ( str_contains( $a, 'b' ) ) {}",
      "str_starts_with without a polyfill": "<?php\nif ( str_starts_with( $a, 'b' ) ) {}",
      "attribute": "<?php\n#[Deprecated]\nfunction f() {}",
      "mixed type": "<?php\nfunction f( mixed $a ) {}",
    };
    for (const [construct, code] of Object.entries(php8)) expect(php8Syntax(code, code), construct).toContain(construct);
    const php74 = [
      "<?php\n$x = $a ? CONST_A : CONST_B; $y = f( $a ? 'x: y' : 'z' ); $z = A::B;",
      "<?php\nswitch ( $a ) { case 'x': break; default: break; }",
      "<?php\nfunction f( ?int $a, array $b = array(), $c = null ): ?string { return null; }\n$f = function ( $a ) use ( $b ): int { return $a | $b; };",
      "<?php\nf( $a, $b, ); // a trailing comma in a call is PHP 7.3\ntry { f(); } catch ( Exception $e ) {}\npreg_match( '/x/', $s ); $o->get_id();",
      "<?php\nif ( ! function_exists( 'str_contains' ) ) {\n\tfunction str_contains( $h, $n ) { return '' === $n || false !== strpos( $h, $n ); }\n}\nif ( str_contains( $a, 'b' ) ) {} // named: value, union|type in a comment\n$s = 'match ( $a ) and ?-> in a string';",
    ];
    for (const code of php74) expect(php8Syntax(code, code), code).toEqual([]);
  });

  it("the .pot holds every translatable string of the plugin (regenerate with test/php/make-pot.sh)", () => {
    const pot = readFileSync(join(pluginDir, "languages/cartbridge-for-woocommerce.pot"), "utf8");
    const msgids = new Set<string>();
    for (const m of pot.matchAll(/^msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)/gm)) {
      msgids.add(m[1]!.split("\n").filter(Boolean).map((line) => JSON.parse(line) as string).join(""));
    }
    const sources = [...filesUnder(pluginDir, ".php"), join(pluginDir, "assets/js/blocks.js")];
    let count = 0;
    for (const file of sources) {
      const code = readFileSync(file, "utf8");
      for (const m of code.matchAll(/\b(?:__|esc_html__|esc_html_e|esc_attr__|_e)\(\s*'((?:[^'\\]|\\.)*)'\s*,\s*'cartbridge-for-woocommerce'/g)) {
        const text = m[1]!.replace(/\\'/g, "'");
        expect(msgids.has(text), `${relative(pluginDir, file)}: "${text}" missing from the .pot`).toBe(true);
        count++;
      }
    }
    expect(count).toBeGreaterThan(40);
    expect(pot).toContain("charset=UTF-8");
  });
});

describe("blocks.js (plain JS, no build step)", () => {
  it("registers the cartbridge payment method from the globals WooCommerce provides", () => {
    const registered: Record<string, unknown>[] = [];
    const createElement = (type: unknown, props: unknown, ...children: unknown[]) => ({ type, props, children });
    runInNewContext(readFileSync(join(pluginDir, "assets/js/blocks.js"), "utf8"), {
      window: {
        wc: {
          wcBlocksRegistry: { registerPaymentMethod: (o: Record<string, unknown>) => registered.push(o) },
          wcSettings: { getSetting: (name: string) => (name === "cartbridge_data" ? { title: "Pay with crypto &amp; more", description: "Next page", supports: ["products"] } : {}) },
        },
        wp: {
          element: { createElement },
          htmlEntities: { decodeEntities: (s: string) => s.replace(/&amp;/g, "&") },
          i18n: { __: (s: string) => s },
        },
      },
    });
    expect(registered).toHaveLength(1);
    const method = registered[0]!;
    expect(method.name).toBe("cartbridge");
    expect(method.ariaLabel).toBe("Pay with crypto & more");
    expect((method.canMakePayment as () => boolean)()).toBe(true);
    expect(method.supports).toEqual({ features: ["products"] });
    const content = method.content as { type: () => { children: unknown[] } };
    expect(content.type().children).toEqual(["Next page"]);
  });
});
