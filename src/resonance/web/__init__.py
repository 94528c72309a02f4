"""The web console: server-rendered pages (Jinja2), no CDN, plotly.js from the package."""
