/* assets.S - embeds the static files; paths are relative to the repository root. */
	.section .rodata
	.balign 16

	.global asset_htmx_js
asset_htmx_js:
	.incbin "node_modules/htmx.org/dist/htmx.min.js"
	.global asset_htmx_js_end
asset_htmx_js_end:

	.global asset_sse_js
asset_sse_js:
	.incbin "node_modules/htmx-ext-sse/dist/sse.min.js"
	.global asset_sse_js_end
asset_sse_js_end:

	.global asset_app_css
asset_app_css:
	.incbin "static/app.css"
	.global asset_app_css_end
asset_app_css_end:

	.global asset_tabs_js
asset_tabs_js:
	.incbin "static/tabs.js"
	.global asset_tabs_js_end
asset_tabs_js_end:

	.global asset_unread_js
asset_unread_js:
	.incbin "static/unread.js"
	.global asset_unread_js_end
asset_unread_js_end:

	.global asset_app_js
asset_app_js:
	.incbin "static/app.js"
	.global asset_app_js_end
asset_app_js_end:

	.section .note.GNU-stack,"",@progbits
