// Command pager is a tiny MCP stdio server for the end-to-end tests: it offers a few tools,
// prompts and resources with a page size of 2, so that lists through the gateway paginate,
// and a tool that asks the client for sampling after a delay.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	s := mcp.NewServer(&mcp.Implementation{Name: "pager", Version: "1.0.0"}, &mcp.ServerOptions{PageSize: 2})
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("tool%02d", i)
		mcp.AddTool(s, &mcp.Tool{Name: name, Description: "pager tool " + name}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "called " + name}}}, nil, nil
		})
		pname := fmt.Sprintf("prompt%02d", i)
		s.AddPrompt(&mcp.Prompt{Name: pname}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: pname}}}}, nil
		})
		uri := fmt.Sprintf("pager://res/%d", i)
		s.AddResource(&mcp.Resource{Name: fmt.Sprintf("res%02d", i), URI: uri, MIMEType: "text/plain"}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: "content of " + uri}}}, nil
		})
	}
	// sample_after waits delayMs, then asks the client for a sampling completion of prompt
	// and returns the answer: a server-to-client request that comes well after its call began.
	type sampleArgs struct {
		DelayMs int    `json:"delayMs"`
		Prompt  string `json:"prompt"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "sample_after", Description: "sampling after a delay"}, func(ctx context.Context, req *mcp.CallToolRequest, a sampleArgs) (*mcp.CallToolResult, any, error) {
		select {
		case <-time.After(time.Duration(a.DelayMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
			Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: a.Prompt}}},
			MaxTokens: 10,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("sampling failed: %w", err)
		}
		text := ""
		if tc, ok := res.Content.(*mcp.TextContent); ok {
			text = tc.Text
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sampled: " + text}}}, nil, nil
	})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatal(err)
	}
}
