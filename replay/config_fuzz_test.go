package replay

import "testing"

// FuzzParseConfig: no YAML input makes parsing or validation panic.
func FuzzParseConfig(f *testing.F) {
	for _, n := range ScenarioNames() {
		data, err := scenarioFS.ReadFile("scenarios/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("simulation: {max_simulation_time: -3}\nmodel: {layers: 2}\n"))
	f.Add([]byte("workload: {synthetic: {rate: .nan}}\nscheduler: {admission_reserve: 2}"))
	f.Add([]byte("cluster: [1, 2]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		_ = c.Validate()
		_, _ = c.ResolveModel()
	})
}
