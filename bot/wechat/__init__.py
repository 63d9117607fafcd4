"""WeChat's side: the API client, QR codes, and the developer tools that stand in for WeChat (fake API, simulator, chat)."""
