package tabular

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Arrow's Go reader sizes slices from vector lengths in the flatbuffers
// metadata (schema fields, children, custom metadata, union type ids,
// variadic buffer counts) before reading them. These checks walk the
// metadata first and require every such vector to fit in the bytes that
// hold it, so a flipped bit cannot ask for billions of elements.

// Flatbuffers vtable slots of the Arrow metadata tables (Schema.fbs,
// Message.fbs).
const (
	slotMessageHeaderType = 6
	slotMessageHeader     = 8

	slotSchemaFields   = 6
	slotSchemaMetadata = 8

	slotFieldTypeType = 8
	slotFieldType     = 10
	slotFieldChildren = 14
	slotFieldMetadata = 16

	slotUnionTypeIDs = 6

	slotRecordBatchNodes    = 6
	slotRecordBatchBuffers  = 8
	slotRecordBatchVariadic = 12

	slotDictionaryBatchData = 6

	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3

	typeUnion = 14

	maxFieldDepth = 64
)

type fbChecker struct {
	buf []byte
}

func (c fbChecker) table(pos flatbuffers.UOffsetT) flatbuffers.Table {
	return flatbuffers.Table{Bytes: c.buf, Pos: pos}
}

// vector returns the start and length of the vector in slot, checking
// that n elements of elem bytes fit.
func (c fbChecker) vector(t flatbuffers.Table, slot flatbuffers.VOffsetT, elem int64, what string) (flatbuffers.UOffsetT, int, error) {
	o := flatbuffers.UOffsetT(t.Offset(slot))
	if o == 0 {
		return 0, 0, nil
	}
	start := t.Vector(o)
	n := t.VectorLen(o)
	if n < 0 || int64(start)+int64(n)*elem > int64(len(c.buf)) {
		return 0, 0, fmt.Errorf("%w: %s claims %d entries in %d bytes of metadata", ErrCorrupt, what, n, len(c.buf))
	}
	return start, n, nil
}

// subTable returns the table in slot, or false when absent.
func (c fbChecker) subTable(t flatbuffers.Table, slot flatbuffers.VOffsetT) (flatbuffers.Table, bool) {
	o := flatbuffers.UOffsetT(t.Offset(slot))
	if o == 0 {
		return flatbuffers.Table{}, false
	}
	return c.table(t.Indirect(t.Pos + o)), true
}

func (c fbChecker) schema(s flatbuffers.Table) error {
	if _, _, err := c.vector(s, slotSchemaMetadata, 4, "schema metadata"); err != nil {
		return err
	}
	return c.fields(s, slotSchemaFields, 0)
}

func (c fbChecker) fields(t flatbuffers.Table, slot flatbuffers.VOffsetT, depth int) error {
	if depth > maxFieldDepth {
		return fmt.Errorf("%w: fields nested more than %d deep", ErrCorrupt, maxFieldDepth)
	}
	start, n, err := c.vector(t, slot, 4, "a field list")
	if err != nil {
		return err
	}
	if n > MaxColumns {
		return fmt.Errorf("%w: a field list of %d fields, more than %d", ErrCorrupt, n, MaxColumns)
	}
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(i*4)
		f := c.table(p + flatbuffers.GetUOffsetT(c.buf[p:]))
		if _, _, err := c.vector(f, slotFieldMetadata, 4, "field metadata"); err != nil {
			return err
		}
		if f.GetByteSlot(slotFieldTypeType, 0) == typeUnion {
			if u, ok := c.subTable(f, slotFieldType); ok {
				if _, _, err := c.vector(u, slotUnionTypeIDs, 4, "union type ids"); err != nil {
					return err
				}
			}
		}
		if err := c.fields(f, slotFieldChildren, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c fbChecker) recordBatch(rb flatbuffers.Table) error {
	if _, _, err := c.vector(rb, slotRecordBatchNodes, 16, "field nodes"); err != nil {
		return err
	}
	_, nbuf, err := c.vector(rb, slotRecordBatchBuffers, 16, "buffers")
	if err != nil {
		return err
	}
	start, n, err := c.vector(rb, slotRecordBatchVariadic, 8, "variadic buffer counts")
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		v := flatbuffers.GetInt64(c.buf[start+flatbuffers.UOffsetT(i*8):])
		if v < 0 || v > int64(nbuf) {
			return fmt.Errorf("%w: a variadic buffer count of %d with %d buffers", ErrCorrupt, v, nbuf)
		}
	}
	return nil
}

// checkMessage checks the vectors of one IPC message's metadata.
func checkMessage(meta []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: undecodable message metadata: %v", ErrCorrupt, p)
		}
	}()
	if len(meta) < 8 {
		return fmt.Errorf("%w: %d bytes of message metadata", ErrCorrupt, len(meta))
	}
	c := fbChecker{buf: meta}
	m := c.table(flatbuffers.GetUOffsetT(meta))
	h, ok := c.subTable(m, slotMessageHeader)
	if !ok {
		return nil
	}
	switch m.GetByteSlot(slotMessageHeaderType, 0) {
	case headerSchema:
		return c.schema(h)
	case headerRecordBatch:
		return c.recordBatch(h)
	case headerDictionaryBatch:
		if rb, ok := c.subTable(h, slotDictionaryBatchData); ok {
			return c.recordBatch(rb)
		}
	}
	return nil
}

// checkFooterSchema checks the schema a file footer holds (Footer slot 6).
func checkFooterSchema(footer []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: undecodable footer schema: %v", ErrCorrupt, p)
		}
	}()
	c := fbChecker{buf: footer}
	f := c.table(flatbuffers.GetUOffsetT(footer))
	if s, ok := c.subTable(f, 6); ok {
		return c.schema(s)
	}
	return nil
}
