package runbook_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bannin/bannin/internal/testenv"
)

const onCancelDoc = `schemaVersion: "0.3"
mainSteps:
  - name: Nap
    action: aws:sleep
    onCancel: step:Cleanup
    inputs:
      Duration: PT10M
  - name: After
    action: aws:executeAwsApi
    isEnd: true
    inputs: {Service: cloudtrail, Api: DescribeTrails}
  - name: Cleanup
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: DescribeTrails}
    outputs:
      - {Name: Trails, Selector: "$.trailList", Type: MapList}
`

// TestOnCancelStep cancels an execution while a step whose onCancel names another step
// runs: that step runs, then the execution ends Cancelled.
func TestOnCancelStep(t *testing.T) {
	clk := newClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	c := ssm.NewFromConfig(e.Config)
	createDoc(t, c, "CancelCleanup", onCancelDoc)
	id := start(t, c, "CancelCleanup", nil)
	waitFor(t, c, id, "sleeping", func(x *types.AutomationExecution) bool {
		return len(x.StepExecutions) == 1 && x.StepExecutions[0].StepStatus == types.AutomationExecutionStatusInprogress
	})
	if _, err := c.StopAutomationExecution(ctx, &ssm.StopAutomationExecutionInput{AutomationExecutionId: aws.String(id)}); err != nil {
		t.Fatalf("StopAutomationExecution: %v", err)
	}
	ex := finished(t, c, id)
	if ex.AutomationExecutionStatus != types.AutomationExecutionStatusCancelled || stepStatuses(ex) != "Nap=Cancelled Cleanup=Success" {
		b, _ := json.MarshalIndent(ex, "", " ")
		t.Errorf("cancelled execution %s steps %s; want Cancelled after Nap=Cancelled Cleanup=Success\n%s", ex.AutomationExecutionStatus, stepStatuses(ex), b)
	}
	if out := ex.StepExecutions[len(ex.StepExecutions)-1].Outputs; len(out) != 1 {
		t.Errorf("Cleanup outputs = %v; want its Trails output", out)
	}

	// Without onCancel the execution ends at once.
	createDoc(t, c, "CancelPlain", sleepDoc)
	id = start(t, c, "CancelPlain", nil)
	waitFor(t, c, id, "sleeping", func(x *types.AutomationExecution) bool {
		return len(x.StepExecutions) == 2 && x.StepExecutions[1].StepStatus == types.AutomationExecutionStatusInprogress
	})
	if _, err := c.StopAutomationExecution(ctx, &ssm.StopAutomationExecutionInput{AutomationExecutionId: aws.String(id)}); err != nil {
		t.Fatalf("StopAutomationExecution: %v", err)
	}
	if ex := finished(t, c, id); stepStatuses(ex) != "Before=Success Nap=Cancelled" {
		t.Errorf("plain cancel steps %s; want Before=Success Nap=Cancelled", stepStatuses(ex))
	}
}
