package snmpsim

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// socket is one UDP port and the devices behind it.
type socket struct {
	sim         *Sim
	conn        *net.UDPConn
	first       int
	byCommunity map[string]int32
	delayed     chan delayed

	requests, responses, varbinds, dropped, bad atomic.Uint64
}

// delayed is a slow device's reply waiting for its time.
type delayed struct {
	buf  *[]byte
	n    int
	to   netip.AddrPort
	when time.Time
}

// bufSize holds the largest datagram plus room to prepend the header.
const (
	headerRoom = 512
	bufSize    = MaxUDPPayload + headerRoom
)

var replyPool = sync.Pool{New: func() any { b := make([]byte, MaxUDPPayload); return &b }}

// serve reads requests and answers them until the socket is closed.
func (sk *socket) serve() {
	in := make([]byte, 65536)
	h := newHandler(sk.sim)
	for {
		n, from, err := sk.conn.ReadFromUDPAddrPort(in)
		if err != nil {
			if sk.sim.closed.Load() {
				return
			}
			continue // transient (e.g. ICMP port unreachable echoes)
		}
		sk.requests.Add(1)
		resp, dev, nvb, status := h.handle(in[:n], sk)
		switch status {
		case statusDrop:
			sk.dropped.Add(1)
			continue
		case statusBad:
			sk.dropped.Add(1)
			sk.bad.Add(1)
			continue
		}
		if sk.sim.devs[dev].flags.Load()&flagSlow != 0 {
			bp := replyPool.Get().(*[]byte)
			c := copy(*bp, resp)
			select {
			case sk.delayed <- delayed{buf: bp, n: c, to: from, when: time.Now().Add(sk.sim.opts.SlowDelay)}:
			default: // queue full: the reply is lost, as on an overloaded device
				replyPool.Put(bp)
				sk.dropped.Add(1)
			}
			continue
		}
		if _, err := sk.conn.WriteToUDPAddrPort(resp, from); err == nil {
			sk.responses.Add(1)
			sk.varbinds.Add(uint64(nvb))
		}
	}
}

// sendDelayed sends slow devices' replies when their time comes. The delay
// is the same for all, so the queue is in deadline order.
func (sk *socket) sendDelayed(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var d delayed
		select {
		case <-ctx.Done():
			for {
				select {
				case d := <-sk.delayed:
					replyPool.Put(d.buf)
				default:
					return
				}
			}
		case d = <-sk.delayed:
		}
		if wait := time.Until(d.when); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				replyPool.Put(d.buf)
				continue
			case <-t.C:
			}
		}
		if _, err := sk.conn.WriteToUDPAddrPort((*d.buf)[:d.n], d.to); err == nil {
			sk.responses.Add(1)
		}
		replyPool.Put(d.buf)
	}
}

type status uint8

const (
	statusReply status = iota
	statusDrop         // not for us, or a dead device: no answer
	statusBad          // malformed
)

// maxVarbinds bounds the varbinds of one request.
const maxVarbinds = 1024

// reqVarbind is one varbind of a request.
type reqVarbind struct {
	oidTLV []byte   // points into the request
	oid    []uint32 // points into handler.arcs
}

// handler holds one goroutine's buffers: requests are decoded and replies
// encoded without allocating.
type handler struct {
	sim   *Sim
	out   []byte
	arcs  []uint32
	vbs   []reqVarbind
	cur   []int // GETBULK: each repeater's position in the walk
	start []int // GETBULK: where each repeater began
	limit int   // the most varbind bytes the reply may carry
	val   valueState
}

func newHandler(s *Sim) *handler {
	return &handler{sim: s, out: make([]byte, bufSize), arcs: make([]uint32, 0, 4096),
		vbs: make([]reqVarbind, 0, 64), cur: make([]int, 0, 64), start: make([]int, 0, 64)}
}

// request is a decoded request PDU.
type request struct {
	version   int64
	community []byte
	pdu       byte
	reqIDTLV  []byte
	a, b      int64  // error-status/error-index or non-repeaters/max-repetitions
	vbList    []byte // the raw varbind list contents
}

func (h *handler) parse(pkt []byte) (request, bool) {
	var r request
	tag, msg, _, err := readTLV(pkt)
	if err != nil || tag != tagSequence {
		return r, false
	}
	tag, v, msg, err := readTLV(msg)
	if err != nil || tag != tagInteger {
		return r, false
	}
	if r.version, err = readInt(v); err != nil {
		return r, false
	}
	if tag, r.community, msg, err = readTLV(msg); err != nil || tag != tagOctetString {
		return r, false
	}
	var pdu []byte
	if r.pdu, pdu, _, err = readTLV(msg); err != nil {
		return r, false
	}
	rest := pdu
	if len(rest) == 0 || rest[0] != tagInteger {
		return r, false
	}
	tag, id, after, err := readTLV(rest)
	if err != nil || tag != tagInteger {
		return r, false
	}
	if _, err := readInt(id); err != nil {
		return r, false
	}
	r.reqIDTLV = rest[:len(rest)-len(after)]
	if len(r.reqIDTLV) > 10 { // a 32-bit request-id takes at most 7 bytes
		return r, false
	}
	rest = after
	for _, p := range []*int64{&r.a, &r.b} {
		if tag, v, rest, err = readTLV(rest); err != nil || tag != tagInteger {
			return r, false
		}
		if *p, err = readInt(v); err != nil {
			return r, false
		}
	}
	if tag, r.vbList, _, err = readTLV(rest); err != nil || tag != tagSequence {
		return r, false
	}
	h.arcs, h.vbs = h.arcs[:0], h.vbs[:0]
	for vl := r.vbList; len(vl) > 0; {
		var vb []byte
		if tag, vb, vl, err = readTLV(vl); err != nil || tag != tagSequence {
			return r, false
		}
		if len(h.vbs) == maxVarbinds {
			return r, false
		}
		tag, ov, after, err := readTLV(vb)
		if err != nil || tag != tagOID {
			return r, false
		}
		start := len(h.arcs)
		if h.arcs, err = decodeOID(h.arcs, ov); err != nil || len(h.arcs)-start > 128 {
			return r, false
		}
		if _, _, _, err := readTLV(after); err != nil {
			return r, false
		}
		h.vbs = append(h.vbs, reqVarbind{oidTLV: vb[:len(vb)-len(after)]})
	}
	// Point the OIDs into arcs only now: arcs may have grown.
	off := 0
	for i := range h.vbs {
		_, ov, _, _ := readTLV(h.vbs[i].oidTLV)
		n := oidArcCount(ov)
		h.vbs[i].oid = h.arcs[off : off+n]
		off += n
	}
	return r, true
}

// oidArcCount counts the arcs decodeOID produces for a valid OID body.
func oidArcCount(v []byte) int {
	n := 1 // the first byte holds two arcs
	for _, c := range v {
		if c&0x80 == 0 {
			n++
		}
	}
	return n
}

// handle answers one datagram. It returns the reply (in h.out), the
// device, the number of varbinds and whether to reply at all.
func (h *handler) handle(pkt []byte, sk *socket) (resp []byte, dev int, nvb int, st status) {
	r, ok := h.parse(pkt)
	if !ok {
		return nil, 0, 0, statusBad
	}
	if r.version != 0 && r.version != 1 {
		return nil, 0, 0, statusDrop // SNMPv3 and unknown versions are not served
	}
	dev, ok = sk.deviceFor(r.community)
	if !ok {
		return nil, 0, 0, statusDrop // a real agent ignores a wrong community
	}
	s := h.sim
	if s.devs[dev].flags.Load()&flagDead != 0 {
		return nil, dev, 0, statusDrop
	}
	now := s.opts.Now()
	n, since := s.epoch(dev, now)
	w := s.view(dev, n)
	h.val = valueState{dev: dev, seed: s.opts.Seed, first: n == 0,
		elapsed: max(now.Sub(since).Seconds(), 0), scale: s.opts.RateScale}

	v1 := r.version == 0
	// Room for everything before the varbinds; the varbinds go after it.
	h.limit = s.maxMsg - (24 + len(r.community) + len(r.reqIDTLV))
	body := h.out[headerRoom:headerRoom]
	var errStatus, errIndex int
	maxVB := s.opts.MaxVarbinds
	switch {
	case (r.pdu == pduGet || r.pdu == pduGetNext) && len(h.vbs) > maxVB:
		errStatus = errTooBig
	case r.pdu == pduGet:
		body, errStatus, errIndex = h.get(w, body, v1)
	case r.pdu == pduGetNext:
		body, errStatus, errIndex = h.getNext(w, body, v1)
	case r.pdu == pduGetBulk:
		if v1 {
			return nil, dev, 0, statusBad // no GETBULK in SNMPv1
		}
		body, nvb = h.getBulk(w, body, int(max(r.a, 0)), int(max(r.b, 0)), maxVB)
	case r.pdu == pduSet:
		errStatus, errIndex = errNoAccess, 1
		if v1 {
			errStatus = errReadOnly
		}
	default:
		return nil, dev, 0, statusBad
	}
	if r.pdu != pduGetBulk {
		nvb = len(h.vbs)
	}
	switch {
	case errStatus == errTooBig:
		body, errIndex, nvb = body[:0], 0, 0
	case errStatus != 0:
		// Other errors echo the request's varbinds (at most a datagram).
		body = append(body[:0], r.vbList...)
	}
	return h.wrap(r, body, errStatus, errIndex), dev, nvb, statusReply
}

// wrap prepends the message header to body, which starts at
// h.out[headerRoom], and returns the whole reply.
func (h *handler) wrap(r request, body []byte, errStatus, errIndex int) []byte {
	out := h.out
	p := headerRoom
	end := headerRoom + len(body)
	p = putLenBefore(out, p, len(body))
	p--
	out[p] = tagSequence
	// error-index, error-status
	for _, x := range [2]int{errIndex, errStatus} {
		var tmp [8]byte
		t := appendInt(tmp[:0], tagInteger, int64(x))
		p -= len(t)
		copy(out[p:], t)
	}
	p -= len(r.reqIDTLV)
	copy(out[p:], r.reqIDTLV)
	p = putLenBefore(out, p, end-p)
	p--
	out[p] = pduResponse
	p -= len(r.community)
	copy(out[p:], r.community)
	p = putLenBefore(out, p, len(r.community))
	p--
	out[p] = tagOctetString
	p -= 3
	out[p], out[p+1], out[p+2] = tagInteger, 1, byte(r.version)
	p = putLenBefore(out, p, end-p)
	p--
	out[p] = tagSequence
	return out[p:end]
}

// fits reports whether a varbind of entry e still fits in the reply.
func (h *handler) fits(b []byte, e *entry) bool {
	n := len(e.vb)
	if e.kind != kindStatic {
		n = 1 + 3 + len(e.oidTLV) + 11 // sequence header, OID, longest counter
	}
	return len(b)+n <= h.limit
}

// appendVarbind appends the varbind of entry e with its current value.
func (h *handler) appendVarbind(b []byte, e *entry) []byte {
	if e.kind == kindStatic {
		return append(b, e.vb...)
	}
	var tmp [16]byte
	var val []byte
	switch e.kind {
	case kindCounter32, kindCounter64:
		val = appendUint(tmp[:0], e.tag, h.val.counter(e))
	case kindUptime:
		val = appendUint(tmp[:0], e.tag, h.val.uptime(e))
	}
	b = append(b, tagSequence)
	b = appendLen(b, len(e.oidTLV)+len(val))
	b = append(b, e.oidTLV...)
	return append(b, val...)
}

// appendException appends a varbind of oidTLV with an exception value.
func appendException(b, oidTLV []byte, tag byte) []byte {
	b = append(b, tagSequence)
	b = appendLen(b, len(oidTLV)+2)
	b = append(b, oidTLV...)
	return append(b, tag, 0)
}

func exceptionFits(b, oidTLV []byte, limit int) bool { return len(b)+len(oidTLV)+5 <= limit }

// search finds oid in the walk: its position, or where it would go.
func (w *Walk) search(oid []uint32) (int, bool) {
	return slices.BinarySearchFunc(w.oids, oid, slices.Compare[[]uint32])
}

// lookup is search for a request's varbind: most requests name OIDs the
// walk has (GETs, and GETNEXTs of a walk's previous answer), found by
// their encoding in one map probe; the rest are searched.
func (w *Walk) lookup(vb reqVarbind) (int, bool) {
	if k, ok := w.byTLV[string(vb.oidTLV)]; ok {
		return int(k), true
	}
	return w.search(vb.oid)
}

func (h *handler) get(w *Walk, b []byte, v1 bool) ([]byte, int, int) {
	for i, vb := range h.vbs {
		k, found := w.lookup(vb)
		if found && !(v1 && w.entries[k].tag == tagCounter64) {
			if !h.fits(b, &w.entries[k]) {
				return b, errTooBig, 0
			}
			b = h.appendVarbind(b, &w.entries[k])
			continue
		}
		if v1 {
			return b, errNoSuchName, i + 1
		}
		if !exceptionFits(b, vb.oidTLV, h.limit) {
			return b, errTooBig, 0
		}
		b = appendException(b, vb.oidTLV, w.noSuchKind(vb.oid))
	}
	return b, 0, 0
}

// next returns the index of the first entry after oid, skipping Counter64
// for SNMPv1; len(entries) at the end of the MIB view.
func (w *Walk) next(vb reqVarbind, v1 bool) int {
	k, found := w.lookup(vb)
	if found {
		k++
	}
	for v1 && k < len(w.entries) && w.entries[k].tag == tagCounter64 {
		k++
	}
	return k
}

func (h *handler) getNext(w *Walk, b []byte, v1 bool) ([]byte, int, int) {
	for i, vb := range h.vbs {
		k := w.next(vb, v1)
		if k < len(w.entries) {
			if !h.fits(b, &w.entries[k]) {
				return b, errTooBig, 0
			}
			b = h.appendVarbind(b, &w.entries[k])
			continue
		}
		if v1 {
			return b, errNoSuchName, i + 1
		}
		if !exceptionFits(b, vb.oidTLV, h.limit) {
			return b, errTooBig, 0
		}
		b = appendException(b, vb.oidTLV, tagEndOfMibView)
	}
	return b, 0, 0
}

// getBulk follows RFC 3416 4.2.3: non-repeaters get one GETNEXT each, the
// repeaters up to maxRep each. The reply stops early when the next
// varbind would not fit, or once every repeater has reached the end of the
// MIB view. It returns the varbinds and their number.
func (h *handler) getBulk(w *Walk, b []byte, nonRep, maxRep, maxVB int) ([]byte, int) {
	count := 0
	nonRep = min(nonRep, len(h.vbs))
	for _, vb := range h.vbs[:nonRep] {
		if count == maxVB {
			return b, count
		}
		if k := w.next(vb, false); k < len(w.entries) {
			if !h.fits(b, &w.entries[k]) {
				return b, count
			}
			b = h.appendVarbind(b, &w.entries[k])
		} else {
			if !exceptionFits(b, vb.oidTLV, h.limit) {
				return b, count
			}
			b = appendException(b, vb.oidTLV, tagEndOfMibView)
		}
		count++
	}
	reps := h.vbs[nonRep:]
	if len(reps) == 0 || maxRep == 0 {
		return b, count
	}
	h.cur, h.start = h.cur[:0], h.start[:0]
	for _, vb := range reps {
		k := w.next(vb, false)
		h.cur, h.start = append(h.cur, k), append(h.start, k)
	}
	for rep := 0; rep < maxRep; rep++ {
		allEnd := true
		for j := range reps {
			if count == maxVB {
				return b, count
			}
			k := h.cur[j]
			if k < len(w.entries) {
				if !h.fits(b, &w.entries[k]) {
					return b, count
				}
				b = h.appendVarbind(b, &w.entries[k])
				h.cur[j] = k + 1
				allEnd = false
			} else {
				// endOfMibView carries the last name this repeater reached.
				name := reps[j].oidTLV
				if k > h.start[j] {
					name = w.entries[k-1].oidTLV
				}
				if !exceptionFits(b, name, h.limit) {
					return b, count
				}
				b = appendException(b, name, tagEndOfMibView)
			}
			count++
		}
		if allEnd {
			break
		}
	}
	return b, count
}

// noSuchKind tells noSuchInstance from noSuchObject for a GET of a
// missing OID the way net-snmp does: an OID inside a MIB group the agent
// serves (mib-2's .1.3.6.1.2.1.G or an enterprise's .1.3.6.1.4.1.E.G) has
// no such instance, and so has an OID elsewhere with a sibling in the
// capture; anything else has no such object.
func (w *Walk) noSuchKind(oid []uint32) byte {
	n, sibling := len(oid)-1, true
	switch {
	case len(oid) >= 7 && hasPrefix(oid, []uint32{1, 3, 6, 1, 2, 1}):
		n, sibling = 7, false
	case len(oid) >= 8 && hasPrefix(oid, []uint32{1, 3, 6, 1, 4, 1}):
		n, sibling = 8, false
	}
	if n < 1 {
		return tagNoSuchObject
	}
	group := oid[:n]
	k, _ := w.search(group)
	for ; k < len(w.entries) && hasPrefix(w.entries[k].oid, group); k++ {
		if !sibling || len(w.entries[k].oid) == len(oid) {
			return tagNoSuchInstance
		}
	}
	return tagNoSuchObject
}
