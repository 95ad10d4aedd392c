import Mustache

/// The gallery's pages as Mustache templates (swift-mustache), and its one stylesheet. Values are
/// HTML-escaped by `{{ }}`; the pages carry no script.
enum GalleryTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [("layout-head", head), ("layout-foot", foot), ("grid", grid), ("view", view), ("message", message)] {
            try! library.register(text, named: name)
        }
        return library
    }()

    static func render(_ template: String, _ values: [String: Any]) -> String? {
        library.render(values, withTemplate: template)
    }

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title><link rel="stylesheet" href="/static/gallery.css"></head>
        <body><header><a class="home" href="/">TwinStore</a> <span class="who">{{user}}</span>
        <span class="note">decrypted on this machine; the server sees ciphertext only</span></header><main>
        """
    static let foot = "</main></body></html>\n"

    static let grid = """
        {{> layout-head}}
        {{#message}}<p class="message">{{message}}</p>{{/message}}
        <nav class="owners"><a href="/"{{#own}} class="current"{{/own}}>My photos</a>
        {{#owners}}<a href="/shared/{{name}}"{{#current}} class="current"{{/current}}>Shared by {{name}}</a>{{/owners}}</nav>
        <h1>{{heading}}</h1>
        {{^sections}}<p class="empty">No photos here yet.</p>{{/sections}}
        {{#sections}}<section class="folder"><h2>{{folder}}</h2><ul class="grid">
        {{#tiles}}<li><a class="tile" href="{{view}}" title="{{name}}"><img class="thumb" src="{{thumb}}" alt="{{name}}" loading="lazy" width="200" height="200"></a></li>{{/tiles}}
        </ul></section>{{/sections}}
        {{#next}}<p class="more"><a href="{{next}}">More photos</a></p>{{/next}}
        {{#own}}<section class="sharing"><h2>Sharing</h2>
        <form method="post" action="/grant"><label>User <input name="user" required pattern="[A-Za-z0-9][A-Za-z0-9_.-]*"></label>
        <label>Policy <input name="policy" required placeholder="family or (friend and vacation)"></label><button type="submit">Grant</button></form>
        <ul class="grants">{{#grants}}<li>{{grantee}}: {{policy}}
        <form method="post" action="/revoke"><input type="hidden" name="user" value="{{grantee}}"><button type="submit">Revoke and re-key</button></form></li>{{/grants}}</ul>
        </section>{{/own}}
        {{> layout-foot}}
        """

    static let view = """
        {{> layout-head}}
        <p><a href="{{back}}">Back</a> · <a class="download" href="{{download}}">Download</a></p>
        <h1>{{name}}</h1><p class="meta">{{owner}} · {{size}} bytes · {{attributes}}</p>
        <img class="full" src="{{image}}" alt="{{name}}">
        {{> layout-foot}}
        """

    static let message = """
        {{> layout-head}}<p class="message">{{message}}</p><p><a href="/">Back to the gallery</a></p>{{> layout-foot}}
        """

    static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f6f6f4; color: #222; }
        header { padding: .6rem 1rem; background: #20303c; color: #fff; display: flex; gap: 1rem; align-items: baseline; }
        header a.home { color: #fff; font-weight: 600; text-decoration: none; }
        header .note { color: #b8c7d2; font-size: .85rem; margin-left: auto; }
        main { padding: 1rem; }
        nav.owners a { margin-right: 1rem; }
        nav.owners a.current { font-weight: 600; }
        ul.grid { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 8px; }
        ul.grid img.thumb { width: 100%; height: 160px; object-fit: cover; background: #ddd; border-radius: 4px; display: block; }
        img.full { max-width: 100%; max-height: 85vh; display: block; }
        .message { background: #fff6d5; padding: .5rem 1rem; border-radius: 4px; }
        section.sharing form { display: inline-flex; gap: .5rem; margin: .3rem 0; }
        ul.grants { padding-left: 1rem; }
        """
}
