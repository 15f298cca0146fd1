#include "textflag.h"

// Winograd F(2x2, 3x3) transforms, vectorised over 16 tiles (winoIn, winoOut)
// or 16 channels (winoDy). See winograd.go for the Go reference of each.

DATA winoEven<>+0(SB)/4, $0
DATA winoEven<>+4(SB)/4, $2
DATA winoEven<>+8(SB)/4, $4
DATA winoEven<>+12(SB)/4, $6
DATA winoEven<>+16(SB)/4, $8
DATA winoEven<>+20(SB)/4, $10
DATA winoEven<>+24(SB)/4, $12
DATA winoEven<>+28(SB)/4, $14
DATA winoEven<>+32(SB)/4, $16
DATA winoEven<>+36(SB)/4, $18
DATA winoEven<>+40(SB)/4, $20
DATA winoEven<>+44(SB)/4, $22
DATA winoEven<>+48(SB)/4, $24
DATA winoEven<>+52(SB)/4, $26
DATA winoEven<>+56(SB)/4, $28
DATA winoEven<>+60(SB)/4, $30
GLOBL winoEven<>(SB), RODATA|NOPTR, $64

DATA winoOdd<>+0(SB)/4, $1
DATA winoOdd<>+4(SB)/4, $3
DATA winoOdd<>+8(SB)/4, $5
DATA winoOdd<>+12(SB)/4, $7
DATA winoOdd<>+16(SB)/4, $9
DATA winoOdd<>+20(SB)/4, $11
DATA winoOdd<>+24(SB)/4, $13
DATA winoOdd<>+28(SB)/4, $15
DATA winoOdd<>+32(SB)/4, $17
DATA winoOdd<>+36(SB)/4, $19
DATA winoOdd<>+40(SB)/4, $21
DATA winoOdd<>+44(SB)/4, $23
DATA winoOdd<>+48(SB)/4, $25
DATA winoOdd<>+52(SB)/4, $27
DATA winoOdd<>+56(SB)/4, $29
DATA winoOdd<>+60(SB)/4, $31
GLOBL winoOdd<>(SB), RODATA|NOPTR, $64

DATA winoLo<>+0(SB)/4, $0
DATA winoLo<>+4(SB)/4, $16
DATA winoLo<>+8(SB)/4, $1
DATA winoLo<>+12(SB)/4, $17
DATA winoLo<>+16(SB)/4, $2
DATA winoLo<>+20(SB)/4, $18
DATA winoLo<>+24(SB)/4, $3
DATA winoLo<>+28(SB)/4, $19
DATA winoLo<>+32(SB)/4, $4
DATA winoLo<>+36(SB)/4, $20
DATA winoLo<>+40(SB)/4, $5
DATA winoLo<>+44(SB)/4, $21
DATA winoLo<>+48(SB)/4, $6
DATA winoLo<>+52(SB)/4, $22
DATA winoLo<>+56(SB)/4, $7
DATA winoLo<>+60(SB)/4, $23
GLOBL winoLo<>(SB), RODATA|NOPTR, $64

DATA winoHi<>+0(SB)/4, $8
DATA winoHi<>+4(SB)/4, $24
DATA winoHi<>+8(SB)/4, $9
DATA winoHi<>+12(SB)/4, $25
DATA winoHi<>+16(SB)/4, $10
DATA winoHi<>+20(SB)/4, $26
DATA winoHi<>+24(SB)/4, $11
DATA winoHi<>+28(SB)/4, $27
DATA winoHi<>+32(SB)/4, $12
DATA winoHi<>+36(SB)/4, $28
DATA winoHi<>+40(SB)/4, $13
DATA winoHi<>+44(SB)/4, $29
DATA winoHi<>+48(SB)/4, $14
DATA winoHi<>+52(SB)/4, $30
DATA winoHi<>+56(SB)/4, $15
DATA winoHi<>+60(SB)/4, $31
GLOBL winoHi<>(SB), RODATA|NOPTR, $64
// WROW transforms one input row at p: d0..d3 are columns 2t..2t+3 of tiles
// t = 0..15 (even and odd columns gathered by VPERMT2PS), and the row's
// d B = (d0-d2, d1+d2, d2-d1, d1-d3) is left in a, b, c, d.
#define WROW(p, a, b, c, d) \
	VMOVUPS (p), a \
	VMOVUPS (p), b \
	VPERMT2PS 64(p), Z30, a \
	VPERMT2PS 64(p), Z31, b \
	VMOVUPS 8(p), c \
	VMOVUPS 8(p), d \
	VPERMT2PS 72(p), Z30, c \
	VPERMT2PS 72(p), Z31, d \
	VSUBPS d, b, d \
	VSUBPS c, a, a \
	VSUBPS b, c, Z29 \
	VADDPS c, b, b \
	VMOVUPS Z29, c

// WCOL combines column q of the four rows into V_q, V_4+q, V_8+q, V_12+q
// and stores them at (DX), (DX)(R12), (DX)(R13), (DX)(R14).
#define WCOL(h0, h1, h2, h3) \
	VSUBPS h2, h0, Z16 \
	VADDPS h2, h1, Z17 \
	VSUBPS h1, h2, Z18 \
	VSUBPS h3, h1, Z19 \
	VMOVUPS Z16, (DX) \
	VMOVUPS Z17, (DX)(R12*1) \
	VMOVUPS Z18, (DX)(R13*1) \
	VMOVUPS Z19, (DX)(R14*1) \
	ADDQ R10, DX

// func winoInAVX512(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int)
TEXT ·winoInAVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ pitch+8(FP), BX
	MOVQ plane+16(FP), R8
	MOVQ nc+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ cstride+40(FP), R9
	MOVQ xstride+48(FP), R10
	MOVQ R10, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	VMOVUPS winoEven<>(SB), Z30
	VMOVUPS winoOdd<>(SB), Z31

inloop:
	MOVQ SI, AX
	WROW(AX, Z0, Z1, Z2, Z3)
	ADDQ BX, AX
	WROW(AX, Z4, Z5, Z6, Z7)
	ADDQ BX, AX
	WROW(AX, Z8, Z9, Z10, Z11)
	ADDQ BX, AX
	WROW(AX, Z12, Z13, Z14, Z15)
	MOVQ DI, DX
	WCOL(Z0, Z4, Z8, Z12)
	WCOL(Z1, Z5, Z9, Z13)
	WCOL(Z2, Z6, Z10, Z14)
	WCOL(Z3, Z7, Z11, Z15)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  inloop
	VZEROUPPER
	RET

// WSUM loads M_q, M_4+q, M_8+q, M_12+q at (DX), (DX)(R12), (DX)(R13),
// (DX)(R14) and leaves A^T's rows applied: s0 = M0+M1+M2, s1 = M1-M2-M3.
#define WSUM(s0, s1) \
	VMOVUPS (DX), Z16 \
	VMOVUPS (DX)(R12*1), Z17 \
	VMOVUPS (DX)(R13*1), Z18 \
	VMOVUPS (DX)(R14*1), Z19 \
	VADDPS Z17, Z16, Z16 \
	VADDPS Z18, Z16, s0 \
	VSUBPS Z18, Z17, Z17 \
	VSUBPS Z19, Z17, s1 \
	ADDQ R10, DX

// func winoOutAVX512(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int)
TEXT ·winoOutAVX512(SB), NOSPLIT, $0-88
	MOVQ m+0(FP), SI
	MOVQ xstride+8(FP), R10
	MOVQ ostride+16(FP), R9
	MOVQ no+24(FP), CX
	MOVQ y+32(FP), DI
	MOVQ yplane+40(FP), R8
	MOVQ pitch+48(FP), BX
	MOVQ rows+56(FP), R11
	MOVQ mask+64(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	MOVQ bias+72(FP), R15
	MOVQ flags+80(FP), AX
	MOVQ R10, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	VMOVUPS winoLo<>(SB), Z30
	VMOVUPS winoHi<>(SB), Z31
	VPXORD Z28, Z28, Z28

outloop:
	MOVQ SI, DX
	WSUM(Z0, Z4)
	WSUM(Z1, Z5)
	WSUM(Z2, Z6)
	WSUM(Z3, Z7)
	// Row 0: y0 = s00+s01+s02, y1 = s01-s02-s03; row 1 likewise from s1.
	VADDPS Z1, Z0, Z8
	VADDPS Z2, Z8, Z8
	VSUBPS Z2, Z1, Z9
	VSUBPS Z3, Z9, Z9
	VADDPS Z5, Z4, Z10
	VADDPS Z6, Z10, Z10
	VSUBPS Z6, Z5, Z11
	VSUBPS Z7, Z11, Z11
	TESTQ $1, AX
	JZ    nobias
	VBROADCASTSS (R15), Z20
	VADDPS Z20, Z8, Z8
	VADDPS Z20, Z9, Z9
	VADDPS Z20, Z10, Z10
	VADDPS Z20, Z11, Z11
	ADDQ $4, R15

nobias:
	TESTQ $2, AX
	JZ    norelu
	VMAXPS Z8, Z28, Z8
	VMAXPS Z9, Z28, Z9
	VMAXPS Z10, Z28, Z10
	VMAXPS Z11, Z28, Z11

norelu:
	// Interleave the even and odd columns of each row.
	// Full segments store without masks: masked stores are slower.
	VMOVUPS Z8, Z12
	VPERMT2PS Z9, Z30, Z12
	VPERMT2PS Z9, Z31, Z8
	VMOVUPS Z10, Z13
	VPERMT2PS Z11, Z30, Z13
	VPERMT2PS Z11, Z31, Z10
	TESTQ $4, AX
	JZ    masked
	VMOVUPS Z12, (DI)
	VMOVUPS Z8, 64(DI)
	CMPQ R11, $2
	JLT  onerow
	VMOVUPS Z13, (DI)(BX*1)
	VMOVUPS Z10, 64(DI)(BX*1)
	JMP  onerow

masked:
	VMOVUPS Z12, K1, (DI)
	VMOVUPS Z8, K2, 64(DI)
	CMPQ R11, $2
	JLT  onerow
	VMOVUPS Z13, K1, (DI)(BX*1)
	VMOVUPS Z10, K2, 64(DI)(BX*1)

onerow:
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  outloop
	VZEROUPPER
	RET

// WDYROW stores the row (a, b) of A dY as dM_4i.. = (a, a+b, a-b, -b) at
// (DX), (DX)(R12), (DX)(R13), (DX)(R14), then moves DX on by 4 xstride.
#define WDYROW(a, b) \
	VADDPS b, a, Z16 \
	VSUBPS b, a, Z17 \
	VSUBPS b, Z28, Z18 \
	VMOVUPS a, (DX) \
	VMOVUPS Z16, (DX)(R12*1) \
	VMOVUPS Z17, (DX)(R13*1) \
	VMOVUPS Z18, (DX)(R14*1) \
	ADDQ R15, DX

// func winoDyAVX512(src *float32, rp, cnt, og int, dst *float32, cs, xstride int)
TEXT ·winoDyAVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ rp+8(FP), BX
	MOVQ cnt+16(FP), CX
	MOVQ og+24(FP), R8
	MOVQ dst+32(FP), DI
	MOVQ cs+40(FP), R9
	MOVQ xstride+48(FP), R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R12*4), R15
	VPXORD Z28, Z28, Z28

dytile:
	MOVQ R8, R11
	MOVQ SI, AX
	MOVQ DI, R10

dygroup:
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	LEAQ (AX)(BX*1), DX
	VMOVUPS (DX), Z2
	VMOVUPS (DX)(R9*1), Z3
	// Rows of A dY: (y00, y01), (y00+y10, y01+y11), (y00-y10, y01-y11), (-y10, -y11).
	VADDPS Z2, Z0, Z4
	VADDPS Z3, Z1, Z5
	VSUBPS Z2, Z0, Z6
	VSUBPS Z3, Z1, Z7
	VSUBPS Z2, Z28, Z8
	VSUBPS Z3, Z28, Z9
	MOVQ R10, DX
	WDYROW(Z0, Z1)
	WDYROW(Z4, Z5)
	WDYROW(Z6, Z7)
	WDYROW(Z8, Z9)
	ADDQ $64, AX
	ADDQ $64, R10
	DECQ R11
	JNZ  dygroup
	LEAQ (SI)(R9*2), SI
	ADDQ R9, DI
	DECQ CX
	JNZ  dytile
	VZEROUPPER
	RET
