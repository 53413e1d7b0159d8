package workflow

// registerGroupOps registers the group-side ops (being written).
func registerGroupOps(r *Registry, c Clients, conf Config) {}
