body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222;background:#fff}
h1{font-size:1.4rem}
blockquote{margin:1rem 0;padding:.5rem 1rem;border-left:3px solid #ccc;white-space:pre-wrap;overflow-wrap:anywhere}
button{font:inherit;padding:.5rem 1.2rem;border-radius:4px;border:1px solid #245;background:#246;color:#fff;cursor:pointer}
.meta,.code{color:#666;font-size:.9rem}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}blockquote{border-color:#555}.meta,.code{color:#999}}
