"""youthbot core: app factory, webhook, router, storage, WeChat client, scheduler."""
