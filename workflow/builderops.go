package workflow

// registerBuilderOps registers the builder-side ops (being written).
func registerBuilderOps(r *Registry, c Clients, conf Config) {}
