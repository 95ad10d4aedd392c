import Foundation
import Mustache
import TwinStorage

/// The dashboard's HTML (a Mustache template) and its charts: small inline SVGs drawn here from
/// numbers alone, so the page needs no script and no library.
enum DashboardPage {
    static let template = try! MustacheTemplate(string: """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>TwinStore dashboard</title>
        <link rel="stylesheet" href="/dashboard.css"></head><body>
        <header><strong>TwinStore</strong> operator's dashboard <span class="health {{healthClass}}">{{health}}</span>
        <span class="since">up {{uptime}}</span></header><main>
        <section class="cards">
        <div class="card"><h2>Logical</h2><p>{{logical}}</p></div>
        <div class="card"><h2>Stored</h2><p>{{stored}}</p></div>
        <div class="card"><h2>Dedup ratio</h2><p>{{ratio}}</p></div>
        <div class="card"><h2>Users</h2><p>{{userCount}}</p></div>
        <div class="card"><h2>Entries</h2><p>{{entries}}</p></div>
        <div class="card"><h2>Chunks</h2><p>{{chunks}}</p></div>
        </section>
        {{#coarse}}<p class="note">A dedup threshold is on: totals are rounded and up to a minute old.</p>{{/coarse}}
        <section><h2>Logical and stored bytes</h2>{{{bytesChart}}}</section>
        <section><h2>Dedup ratio</h2>{{{ratioChart}}}</section>
        <section><h2>Requests, errors and uploads per minute (last hour)</h2>{{{rateChart}}}
        <p class="legend"><span class="requests">requests</span> <span class="errors">errors</span> <span class="commits">upload commits</span></p></section>
        <section><h2>Users</h2><table><thead><tr><th>user</th><th>entries</th><th>charged</th><th>of quota</th></tr></thead><tbody>
        {{#users}}<tr><td>{{name}}</td><td>{{entries}}</td><td>{{charged}}</td><td>{{{bar}}} {{share}}</td></tr>{{/users}}
        </tbody></table></section>
        <section><h2>Garbage collection</h2><p>{{collection}}</p></section>
        </main></body></html>
        """)

    static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1d2730; }
        header { background: #1d2730; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: baseline; }
        header .since { margin-left: auto; color: #a9b8c4; }
        .health.ok { color: #7fe09a; } .health.bad { color: #ff8c7a; }
        main { padding: 1rem; max-width: 960px; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: .6rem; }
        .card { background: #fff; border-radius: 6px; padding: .4rem .8rem; }
        .card h2 { font-size: .8rem; color: #5b6b78; margin: .2rem 0; } .card p { font-size: 1.3rem; margin: .2rem 0 .4rem; }
        section h2 { font-size: 1rem; margin-top: 1.4rem; }
        svg { background: #fff; border-radius: 6px; }
        table { border-collapse: collapse; background: #fff; } td, th { padding: .3rem .8rem; text-align: left; }
        .legend .requests { color: #2f6fb0; } .legend .errors { color: #c0392b; } .legend .commits { color: #2e8b57; }
        .note { color: #6b5b00; }
        """

    static func render(totals: StoreStatistics, coarse: Bool, usage: [UserUsage], quota: Int?, activity: ServerActivity) -> String {
        let samples = activity.samples
        let minutes = activity.minutes
        let ratio = totals.storedBytes == 0 ? 1 : Double(totals.logicalBytes) / Double(totals.storedBytes)
        let collection = activity.lastCollection.map { pass in
            "last pass \(Self.ago(pass.time)): " + (pass.failure.map { "failed (\($0))" } ?? "\(pass.chunks) chunks freed")
        } ?? "no pass yet in this process"
        let values: [String: Any] = [
            "health": activity.lastCollection?.failure == nil ? "healthy" : "garbage collection failing",
            "healthClass": activity.lastCollection?.failure == nil ? "ok" : "bad",
            "uptime": Self.duration(Date().timeIntervalSince(activity.started)),
            "logical": Self.bytes(totals.logicalBytes), "stored": Self.bytes(totals.storedBytes),
            "ratio": String(format: "%.2f", ratio), "userCount": totals.users, "entries": totals.entries, "chunks": totals.chunks,
            "coarse": coarse,
            "bytesChart": lineChart([("#2f6fb0", samples.map { Double($0.logicalBytes) }), ("#e08e0b", samples.map { Double($0.storedBytes) })],
                                    label: Self.bytes),
            "ratioChart": lineChart([("#2e8b57", samples.map { $0.storedBytes == 0 ? 1 : Double($0.logicalBytes) / Double($0.storedBytes) })],
                                    label: { String(format: "%.2f", $0) }),
            "rateChart": lineChart([("#2f6fb0", minutes.map { Double($0.requests) }),
                                    ("#c0392b", minutes.map { Double($0.clientErrors + $0.serverErrors) }),
                                    ("#2e8b57", minutes.map { Double($0.commits) })], label: { String(Int($0)) }),
            "users": usage.map { user -> [String: Any] in
                let share = quota.map { Double(user.chargedBytes) / Double(max(1, $0)) }
                return ["name": user.user, "entries": user.entries, "charged": Self.bytes(user.chargedBytes),
                        "share": share.map { String(format: "%.1f %%", $0 * 100) } ?? "no quota",
                        "bar": share.map(Self.bar) ?? ""]
            },
            "collection": collection,
        ]
        return template.render(values)
    }

    /// Polylines over a 600×140 plot, every series scaled to the largest value of all; the top
    /// value is labelled. With fewer than two points there is nothing to draw yet.
    static func lineChart(_ series: [(color: String, values: [Double])], label: (Double) -> String) -> String {
        let (width, height, top, left) = (600.0, 140.0, 16.0, 4.0)
        let count = series.map(\.values.count).max() ?? 0
        guard count >= 2 else {
            return ##"<svg width="600" height="40" viewBox="0 0 600 40"><text x="8" y="24" font-size="12" fill="#5b6b78">collecting: a point a minute</text></svg>"##
        }
        let maximum = max(series.flatMap(\.values).max() ?? 0, 1e-9)
        var svg = ##"<svg width="600" height="160" viewBox="0 0 600 160" role="img">"##
        svg += ##"<line x1="4" y1="156" x2="596" y2="156" stroke="#ccd5dd"/>"##
        svg += ##"<text x="8" y="12" font-size="11" fill="#5b6b78">\##(escape(label(maximum)))</text>"##
        for (color, values) in series where values.count >= 2 {
            let points = values.enumerated().map { index, value in
                let x = left + (width - 2 * left) * Double(index) / Double(count - 1)
                let y = top + height - height * value / maximum
                return String(format: "%.1f,%.1f", x, y)
            }.joined(separator: " ")
            svg += ##"<polyline fill="none" stroke="\##(color)" stroke-width="2" points="\##(points)"/>"##
        }
        return svg + "</svg>"
    }

    static func bar(_ share: Double) -> String {
        let filled = Int((min(max(share, 0), 1) * 100).rounded())
        return ##"<svg width="100" height="10" viewBox="0 0 100 10"><rect width="100" height="10" fill="#e3e8ec"/><rect width="\##(filled)" height="10" fill="\##(share > 0.9 ? "#c0392b" : "#2f6fb0")"/></svg>"##
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func bytes(_ value: Double) -> String { bytes(Int(value)) }

    static func bytes(_ value: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var amount = Double(value), unit = 0
        while amount >= 1000, unit < units.count - 1 { amount /= 1000; unit += 1 }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(seconds)
        return total < 3600 ? "\(total / 60) min" : "\(total / 3600) h \(total % 3600 / 60) min"
    }

    static func ago(_ date: Date) -> String { duration(Date().timeIntervalSince(date)) + " ago" }
}
