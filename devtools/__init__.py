"""Development tools that run beside the app on 127.0.0.1. No module of the app imports them."""
