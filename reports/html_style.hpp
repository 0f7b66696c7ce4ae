// The stylesheet index.html inlines: plain CSS, no fonts or images to fetch,
// with a print layout (no navigation, sections kept whole where they fit).
#pragma once

namespace faultmux::reports {

inline constexpr const char* page_css = R"css(
:root{--fg:#1d2330;--dim:#5f6b7a;--line:#d9dee5;--bg:#f6f7f9;--card:#fff;
--pass:#2e7d32;--pass-bg:#e6f4ea;--fail:#c62828;--fail-bg:#fdecea;--err:#8e24aa;--err-bg:#f5e9f8;
--na:#78909c;--na-bg:#eef1f3;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#18202e;color:#fff;padding:18px 32px 0}
header h1{margin:0;font-size:22px;font-weight:600;letter-spacing:.2px}
header .sub{margin:4px 0 10px;color:#b8c2d0}
header .sub code{color:#dfe6ef}
header .good{color:#8fe39a;font-weight:600}header .bad{color:#ff9c9c;font-weight:600}
nav{display:flex;gap:4px}
nav a{color:#cfd8e3;text-decoration:none;padding:6px 12px;border-radius:6px 6px 0 0}
nav a:hover{background:#2a3446;color:#fff}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 22px 18px;margin:18px 0}
h2{font-size:18px;margin:14px 0 10px;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{font-size:15px;margin:14px 0 6px}
h4{font-size:13px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.6px;color:var(--dim)}
a{color:var(--accent)}
code,pre{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre.rerun{background:#18202e;color:#e8eef6;padding:8px 12px;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:6px 0}
.dim{color:var(--dim);font-weight:normal}
.note{color:var(--dim);margin:6px 0}
.intro{margin:4px 0 10px;max-width:900px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0 14px}
.card{flex:1 1 120px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;color:var(--dim);background:#fbfcfd}
.card .big{font-size:28px;font-weight:700;color:var(--fg);line-height:1.1}
.card.pass .big{color:var(--pass)}.card.fail{background:var(--fail-bg);border-color:#f3b7b2}.card.fail .big{color:var(--fail)}
.card.error{background:var(--err-bg)}.card.error .big{color:var(--err)}.card.zero .big,.card.na .big{color:var(--na)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:12px;text-transform:uppercase;letter-spacing:.5px;color:var(--dim);border-bottom:2px solid var(--line)}
table.kv{width:auto}table.kv th{color:var(--dim);font-weight:500;padding-right:18px;white-space:nowrap}
table.kv td,table.kv th{border:none;padding:2px 8px 2px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.v-pass{background:var(--pass-bg);color:var(--pass)}.badge.v-fail{background:var(--fail);color:#fff}
.badge.v-error{background:var(--err);color:#fff}.badge.v-na{background:var(--na-bg);color:var(--na)}
.flaky{display:inline-block;background:#fff3cd;color:#7a5a00;border:1px solid #f0d27a;border-radius:8px;padding:0 6px;font-size:11px;font-weight:600}
.caught{display:inline-block;background:#e8eefb;color:#1f4f9f;border:1px solid #b9cbee;border-radius:8px;padding:0 6px;font-size:11px;font-weight:600}
ol.failures{padding-left:22px}
li.failure{margin:0 0 14px;padding:8px 12px;border-left:4px solid var(--fail);background:#fffafa;border-radius:0 6px 6px 0}
li.failure>a{font-weight:600;font-size:15px}
.compact{background:#fff3cd;border:1px solid #f0d27a;border-radius:6px;padding:8px 12px}
.allgood{color:var(--pass);font-weight:600}
ul.evidence{margin:4px 0;padding-left:18px}
ul.evidence li{margin:1px 0}ul.evidence code{white-space:pre-wrap;word-break:break-word}
.more{color:var(--dim);font-style:italic;margin:2px 0 0}
table.matrix{width:auto;min-width:60%}
table.matrix td.cell{text-align:center;min-width:120px;padding:0;border:2px solid #fff}
table.matrix td.cell a{display:block;padding:6px 10px;text-decoration:none;font-weight:600;color:inherit}
td.cell.v-pass{background:var(--pass-bg);color:var(--pass)}td.cell.v-fail,td.cell.v-mixed{background:var(--fail-bg);color:var(--fail)}
td.cell.v-error{background:var(--err-bg);color:var(--err)}td.cell.v-na{background:var(--na-bg);color:var(--na)}
td.cell.none{color:#b0b8c2;background:#fafbfc}
th.sname{font-weight:600;white-space:nowrap}
section.detail{border-left:5px solid var(--pass)}
section.detail.v-fail{border-left-color:var(--fail)}section.detail.v-error{border-left-color:var(--err)}section.detail.v-na{border-left-color:var(--na)}
section.detail h3{font-size:17px;margin-top:14px}
.desc{margin:2px 0 8px}
.headline{font-size:15px;font-weight:600;margin:4px 0 6px}
ul.notices{margin:4px 0 8px;padding:6px 10px 6px 26px;background:#fff4e5;border:1px solid #f0c36d;border-radius:4px}
table.oracles td:first-child{width:30%}
table.oracles .meaning{color:var(--dim);font-size:12px;margin-top:2px}
table.oracles tr.v-fail{background:#fff6f5}
table.faults td.num,td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.num.bad{color:var(--fail);font-weight:700}
.scroll{overflow-x:auto}
svg.timeline,svg.groups{width:100%;height:auto;min-width:760px;display:block}
svg{font-family:inherit}
svg text{font-size:11px;fill:#3a4656}
svg .label{text-anchor:end}svg .gcount{text-anchor:start;font-size:10.5px}svg .tick{text-anchor:middle;fill:var(--dim);font-size:10px}svg .tick.end{text-anchor:end}
svg .grid{stroke:#e8ecf0;stroke-width:1}svg .axis{stroke:#9aa5b1}
svg .band{fill:#f7f9fb}
svg .window{fill:#ffb74d;fill-opacity:.22}
svg .faultline{stroke:#d32f2f;stroke-width:1.2;stroke-dasharray:4 3;stroke-opacity:.75}
svg .calls{stroke:#90a4ae;stroke-width:1;fill:none}
svg .mark.fault{fill:#d32f2f;stroke:#fff;stroke-width:.8}
svg .mark.killed{stroke:#311b92;stroke-width:2.2;fill:none}
svg .mark.disconnect{fill:#fff;stroke:#ef6c00;stroke-width:2}
svg .mark.error{fill:#b71c1c;stroke:#fff;stroke-width:.6}
svg .mark.stopped{fill:#7b1fa2}svg .mark.resumed{fill:#7b1fa2}
svg .mark.connected,svg .mark.handshake{fill:#1b5e20}
svg .bar{fill:#5c8fd6}svg .bar:hover{fill:#1f5fbf}
svg line.pct{stroke:#18202e;stroke-dasharray:2 2}svg text.pct{font-size:10px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg .series{fill:none;stroke:#1f5fbf;stroke-width:1.6}
svg .baseline{stroke:#2e7d32;stroke-dasharray:5 3}
svg .ctitle{font-weight:600;font-size:11.5px}
svg.sym{vertical-align:middle;margin-right:6px}
.plots{display:flex;flex-wrap:wrap;gap:4px 40px}.plots>div{flex:0 0 470px;max-width:100%}.plots h4{margin-top:12px}.plots .stats{min-height:2.6em}
.stats{margin:2px 0 4px;color:var(--dim);font-size:12.5px}
.legend{display:grid;grid-template-columns:1fr 1fr;gap:10px 36px}
ul.keys{list-style:none;padding:0;margin:6px 0;columns:2}
ul.keys li{margin:3px 0}
.swatch{display:inline-block;width:22px;height:6px;border-radius:3px;vertical-align:middle;margin-right:8px}
dl.meanings dt{font-weight:600;margin-top:6px}dl.meanings dd{margin:0 0 0 14px;color:var(--dim)}
table.history td.strip,table.history td.trend{white-space:nowrap}
span.run{display:inline-block;width:10px;height:14px;margin-right:2px;border-radius:2px;background:#e3e7ec;vertical-align:middle}
span.run.v-pass{background:var(--pass)}span.run.v-fail,span.run.v-error{background:var(--fail)}span.run.v-mixed{background:#f0b400}
.rate{display:inline-block;width:70px;height:8px;background:var(--fail-bg);border-radius:4px;overflow:hidden;vertical-align:middle}
.rate span{display:block;height:100%;background:var(--pass)}
svg.spark polyline{fill:none;stroke:#1f5fbf;stroke-width:1.4}svg.spark circle{fill:#1f5fbf}
p.top{text-align:right;margin:8px 0 0;font-size:12px}
footer{text-align:center;color:var(--dim);font-size:12px;padding:0 0 30px}
@media print{
 body{background:#fff;font-size:11px}header{background:#fff;color:#000;padding:0 0 6px;border-bottom:2px solid #000}
 header .sub,header .sub code{color:#333}nav,p.top{display:none}main{max-width:none;padding:0}
 section{border:none;padding:0;margin:10px 0;break-inside:auto}section.detail{break-before:page;border-left:none}
 a{color:inherit;text-decoration:none}pre.rerun{background:#fff;color:#000;border:1px solid #999}
 tr,li.failure,svg{break-inside:avoid}.scroll{overflow:visible}svg.timeline{max-width:100%;height:auto}
 td.cell,span.run,.rate span,.badge,.swatch,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
)css";

}  // namespace faultmux::reports
