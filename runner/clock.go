package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/amiswap/amiswap/asl"
	"net/http"
	"strings"
	"time"
)

// SimClock follows a remote amiswap simulator's virtual clock through its
// control API: on a free-running simulator a wait of d sleeps d/speed of
// wall time; on a manual one it advances the simulator's clock by d.
type SimClock struct {
	Endpoint string
	Client   *http.Client
}

type simClockState struct {
	Now   time.Time `json:"now"`
	Speed float64   `json:"speed"`
}

// DetectSimClock asks endpoint whether it is an amiswap simulator (it
// answers GET /_sim/clock). It returns nil, nil for anything else.
func DetectSimClock(ctx context.Context, endpoint string, client *http.Client) (*SimClock, error) {
	if endpoint == "" {
		return nil, nil
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	c := &SimClock{Endpoint: strings.TrimRight(endpoint, "/"), Client: client}
	if _, err := c.state(ctx); err != nil {
		return nil, nil //nolint:nilerr // not a simulator: use the wall clock
	}
	return c, nil
}

func (c *SimClock) state(ctx context.Context) (simClockState, error) {
	var st simClockState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+"/_sim/clock", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /_sim/clock: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("GET /_sim/clock: %w", err)
	}
	if st.Now.IsZero() {
		return st, fmt.Errorf("GET /_sim/clock: no time in the answer")
	}
	return st, nil
}

// Now returns the simulator's virtual time (the wall clock if it cannot be
// reached, which the next call will report).
func (c *SimClock) Now() time.Time {
	st, err := c.state(context.Background())
	if err != nil {
		return time.Now()
	}
	return st.Now
}

// Sleep waits d of simulated time.
func (c *SimClock) Sleep(ctx context.Context, d time.Duration) error {
	st, err := c.state(ctx)
	if err != nil {
		return fmt.Errorf("simulator clock: %w", err)
	}
	if st.Speed > 0 {
		return asl.SystemClock{}.Sleep(ctx, time.Duration(float64(d)/st.Speed))
	}
	body, _ := json.Marshal(map[string]string{"advance": d.String()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/_sim/clock", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("advance simulator clock: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("advance simulator clock: %s", resp.Status)
	}
	return nil
}
