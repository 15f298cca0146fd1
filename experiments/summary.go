package experiments

import (
	"fmt"
	"strings"
)

// Shape is the shape of one example as it flows through a model: channels,
// height and width for images, or Units alone once flattened.
type Shape struct {
	C, H, W int
	// Flat is true once the data is a vector of C values.
	Flat bool
}

// Size is the number of values in the shape.
func (s Shape) Size() int {
	if s.Flat {
		return s.C
	}
	return s.C * s.H * s.W
}

// String writes the shape the way Keras summaries do, channels last.
func (s Shape) String() string {
	if s.Flat {
		return fmt.Sprintf("(None, %d)", s.C)
	}
	return fmt.Sprintf("(None, %d, %d, %d)", s.H, s.W, s.C)
}

// LayerSummary is one row of a Keras-style model summary.
type LayerSummary struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	OutputShape string `json:"output_shape"`
	Params      int    `json:"params"`
}

// Summary is a Keras-style model summary: each layer's output shape and parameter count.
type Summary struct {
	Layers          []LayerSummary `json:"layers"`
	TotalParams     int            `json:"total_params"`
	TrainableParams int            `json:"trainable_params"`
}

// kerasNames are the layer class names and instance name stems Keras prints.
var kerasNames = map[string][2]string{
	LayerDense:     {"Dense", "dense"},
	LayerConv2D:    {"Conv2D", "conv2d"},
	LayerMaxPool2D: {"MaxPooling2D", "max_pooling2d"},
	LayerDropout:   {"Dropout", "dropout"},
	LayerFlatten:   {"Flatten", "flatten"},
	LayerBatchNorm: {"BatchNormalization", "batch_normalization"},
}

// LayerShape is the output shape of one layer, and the parameters it holds.
type LayerShape struct {
	Out       Shape
	Params    int
	Trainable int
}

// Shapes walks the layers from the input shape and returns each layer's output
// shape and parameter count. Layers whose shape cannot be computed are reported
// in errs keyed by form field ("layers[2].kernel"), and the walk goes on with
// the input shape unchanged so later layers are still checked.
func (s Spec) Shapes() (shapes []LayerShape, errs map[string]string) {
	errs = map[string]string{}
	c, h, w := s.InputShape()
	cur := Shape{C: c, H: h, W: w}
	heads := s.Heads
	if heads < 1 {
		heads = 1
	}
	for i, l := range s.Layers {
		field := fmt.Sprintf("layers[%d]", i)
		out, params, trainable := cur, 0, 0
		switch l.Type {
		case LayerDense:
			if l.Units < 1 || l.Units > 65536 {
				errs[field+".units"] = "units must be 1..65536"
				break
			}
			if !cur.Flat {
				errs[field+".type"] = fmt.Sprintf("dense needs flat input but gets %s: add a flatten layer before it", cur)
				break
			}
			params = cur.C*l.Units + l.Units
			out = Shape{C: l.Units, Flat: true}
			if i == len(s.Layers)-1 {
				params *= heads
			}
		case LayerConv2D:
			if cur.Flat {
				errs[field+".type"] = "conv2d needs image input, but the data is already flat here"
				break
			}
			if l.Filters < 1 || l.Filters > 4096 {
				errs[field+".filters"] = "filters must be 1..4096"
				break
			}
			limit := min(cur.H, cur.W)
			if l.Kernel < 1 || l.Kernel > limit {
				errs[field+".kernel"] = fmt.Sprintf("kernel must be 1..%d (the layer's input is %dx%d)", limit, cur.H, cur.W)
				break
			}
			padOK := true
			switch l.Padding {
			case PadSame:
				out = Shape{C: l.Filters, H: cur.H, W: cur.W}
			case PadValid:
				out = Shape{C: l.Filters, H: cur.H - l.Kernel + 1, W: cur.W - l.Kernel + 1}
			default:
				errs[field+".padding"] = `padding must be "same" or "valid"`
				padOK = false
			}
			if padOK {
				params = l.Kernel*l.Kernel*cur.C*l.Filters + l.Filters
			}
		case LayerMaxPool2D:
			if cur.Flat {
				errs[field+".type"] = "maxpool2d needs image input, but the data is already flat here"
				break
			}
			limit := min(cur.H, cur.W)
			if l.Pool < 1 || l.Pool > limit {
				errs[field+".pool"] = fmt.Sprintf("pool must be 1..%d (the layer's input is %dx%d)", limit, cur.H, cur.W)
				break
			}
			out = Shape{C: cur.C, H: cur.H / l.Pool, W: cur.W / l.Pool}
		case LayerDropout:
			if l.Rate < 0 || l.Rate >= 1 {
				errs[field+".rate"] = "rate must be >= 0 and < 1"
			}
		case LayerFlatten:
			out = Shape{C: cur.Size(), Flat: true}
		case LayerBatchNorm:
			params = 4 * cur.C
			trainable = 2 * cur.C
		default:
			errs[field+".type"] = fmt.Sprintf("unknown layer type %q (dense, conv2d, maxpool2d, dropout, flatten, batchnorm)", l.Type)
		}
		if l.Type != LayerBatchNorm {
			trainable = params
		}
		if l.Activation != ActNone && l.Activation != ActReLU && l.Activation != ActSoftmax {
			errs[field+".activation"] = `activation must be "relu", "softmax" or empty`
		}
		cur = out
		shapes = append(shapes, LayerShape{Out: out, Params: params, Trainable: trainable})
	}
	return shapes, errs
}

// Summarize returns the Keras-style summary of the spec's model. Layers with
// errors show the shape they were given; call Validate for the errors.
func (s Spec) Summarize() Summary {
	shapes, _ := s.Shapes()
	var sum Summary
	counts := map[string]int{}
	for i, l := range s.Layers {
		typ, name := kerasNames[l.Type][0], kerasNames[l.Type][1]
		if typ == "" {
			typ, name = l.Type, strings.ToLower(l.Type)
		}
		counts[name]++
		if i == len(s.Layers)-1 && s.Heads > 1 {
			typ = fmt.Sprintf("%d x %s", s.Heads, typ)
		}
		ls := shapes[i]
		sum.Layers = append(sum.Layers, LayerSummary{
			Name:        fmt.Sprintf("%s_%d", name, counts[name]),
			Type:        typ,
			OutputShape: ls.Out.String(),
			Params:      ls.Params,
		})
		sum.TotalParams += ls.Params
		sum.TrainableParams += ls.Trainable
	}
	return sum
}
