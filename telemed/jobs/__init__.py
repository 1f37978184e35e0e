"""Background work: the periodic tasks (`tasks`) and the runner that schedules them
(`runner`, procrastinate). Outside telemed.core because it names every domain's tasks."""
