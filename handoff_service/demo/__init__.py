"""Demo pages for someone trying the product (mounted at /demo/ only when DEMO_PAGES=on):
a host-site page whose customer is signed in (a signed token in the chat's session
metadata), and the texts the demo sender "sent" to the phone, beside the chat of the
browser whose conversation sent them."""
