"""SQL adapter: schema, migrations, repositories and the engine factory."""
