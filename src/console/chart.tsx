/** Sessions created and paid per hour as an inline SVG bar chart: rendered on the server, no script. */
import type { HourlyPoint } from "./queries.ts";

export function paidShare(points: HourlyPoint[]): { created: number; paid: number; percent: string } {
  const created = points.reduce((n, p) => n + p.created, 0);
  const paid = points.reduce((n, p) => n + p.paid, 0);
  // Integer arithmetic to one decimal: the share is a display figure, but there is no need for floats.
  const permille = created ? Math.round((paid * 1000) / created) : 0;
  return { created, paid, percent: created ? `${Math.floor(permille / 10)}.${permille % 10}%` : "–" };
}

export function HourlyChart({ points }: { points: HourlyPoint[] }) {
  const width = 720;
  const height = 160;
  const top = 8;
  const bottom = 22;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...points.map((p) => p.created));
  const step = width / Math.max(1, points.length);
  const barWidth = Math.max(1, step - (step > 3 ? 1 : 0));
  const y = (n: number) => top + plotHeight - (n / max) * plotHeight;
  const share = paidShare(points);
  const dayTicks = points.filter((p) => new Date(p.hourStart).getUTCHours() === 0);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Sessions per hour: ${share.created} created, ${share.paid} paid`} preserveAspectRatio="none">
        <line x1="0" x2={width} y1={top + plotHeight} y2={top + plotHeight} class="axis" />
        <text x="2" y={top + 10} class="tick">{max}</text>
        {points.map((p, i) => (
          <g>
            <title>{`${new Date(p.hourStart).toISOString().slice(0, 13).replace("T", " ")}:00 UTC — ${p.created} created, ${p.paid} paid`}</title>
            {p.created > 0 ? <rect x={(i * step).toFixed(2)} y={y(p.created).toFixed(2)} width={barWidth.toFixed(2)} height={(top + plotHeight - y(p.created)).toFixed(2)} class="created" /> : null}
            {p.paid > 0 ? <rect x={(i * step).toFixed(2)} y={y(p.paid).toFixed(2)} width={barWidth.toFixed(2)} height={(top + plotHeight - y(p.paid)).toFixed(2)} class="paid" /> : null}
          </g>
        ))}
        {dayTicks.map((p) => {
          const i = points.indexOf(p);
          // A label that would run past the right edge (today's) ends at the edge instead of being cut off.
          const atEdge = i * step + 2 > width - 36;
          return <text x={(atEdge ? width - 2 : i * step + 2).toFixed(2)} y={height - 6} class="tick" text-anchor={atEdge ? "end" : undefined}>{new Date(p.hourStart).toISOString().slice(5, 10)}</text>;
        })}
      </svg>
      <figcaption>
        <span class="swatch created" /> created <span class="swatch paid" /> paid — {share.created} sessions, {share.paid} paid ({share.percent})
      </figcaption>
    </figure>
  );
}
