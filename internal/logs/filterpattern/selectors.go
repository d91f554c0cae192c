package filterpattern

// Selectors returns the values a pattern names, as metric filters and TestMetricFilter
// extract them with Field: the `$.a.b` selectors of a JSON pattern in the order they first
// appear, or `$name` for each named field of a space-delimited pattern. Other patterns
// name none.
func (p *Pattern) Selectors() []string {
	switch p.kind {
	case kindJSON:
		out := make([]string, len(p.paths.ids))
		for sel, id := range p.paths.ids {
			out[id] = sel
		}
		return out
	case kindDelimited:
		var out []string
		seen := map[string]bool{}
		for _, f := range p.fields {
			if f.name != "" && !seen[f.name] {
				seen[f.name] = true
				out = append(out, "$"+f.name)
			}
		}
		return out
	}
	return nil
}
