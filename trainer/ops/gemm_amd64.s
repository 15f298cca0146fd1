#include "textflag.h"

// Microkernels for C[6 x nr] (+)= A[6 x k] * B[k x nr] with an epilogue.
//
// Arguments (all strides in bytes):
//   k     int       depth, >= 1
//   a     *float32  A[0,0]; A[i,kk] is at a + i*rsA + kk*csA
//   rsA   int
//   csA   int
//   b     *float32  packed B; row kk is nr contiguous floats at b + kk*bs
//   bs    int
//   c     *float32  C[0,0]; C[i,j] is at c + i*ldc + 4*j
//   ldc   int
//   bias  *float32  row bias (6 floats) or column bias (nr floats)
//   flags int       1 accumulate into C, 2 add row bias, 4 add column bias, 8 ReLU
//
// ReLU is max(0, x) with x as the second source of (V)MAXPS (Intel order),
// which is the one returned when either is NaN: NaN stays NaN, as in ReLU,
// the Go kernel and PyTorch. In Go's operand order that is VMAXPS x, zero, x.

#define ARGS \
	MOVQ k+0(FP), CX \
	MOVQ a+8(FP), SI \
	MOVQ rsA+16(FP), R9 \
	MOVQ csA+24(FP), R11 \
	MOVQ b+32(FP), BX \
	MOVQ bs+40(FP), R12 \
	LEAQ (R9)(R9*2), R10 \
	ADDQ SI, R10

// ---------------------------------------------------------------- AVX-512 6x64

#define FMA4(src, r0, r1, r2, r3) \
	VBROADCASTSS src, Z28 \
	VFMADD231PS Z24, Z28, r0 \
	VFMADD231PS Z25, Z28, r1 \
	VFMADD231PS Z26, Z28, r2 \
	VFMADD231PS Z27, Z28, r3

#define ACC4(p, r0, r1, r2, r3) \
	VADDPS 0(p), r0, r0 \
	VADDPS 64(p), r1, r1 \
	VADDPS 128(p), r2, r2 \
	VADDPS 192(p), r3, r3

#define RBIAS4(off, r0, r1, r2, r3) \
	VBROADCASTSS off(SI), Z28 \
	VADDPS Z28, r0, r0 \
	VADDPS Z28, r1, r1 \
	VADDPS Z28, r2, r2 \
	VADDPS Z28, r3, r3

#define CBIAS4(r0, r1, r2, r3) \
	VADDPS Z24, r0, r0 \
	VADDPS Z25, r1, r1 \
	VADDPS Z26, r2, r2 \
	VADDPS Z27, r3, r3

#define RELU4(r0, r1, r2, r3) \
	VMAXPS r0, Z28, r0 \
	VMAXPS r1, Z28, r1 \
	VMAXPS r2, Z28, r2 \
	VMAXPS r3, Z28, r3

#define STORE4(p, r0, r1, r2, r3) \
	VMOVUPS r0, 0(p) \
	VMOVUPS r1, 64(p) \
	VMOVUPS r2, 128(p) \
	VMOVUPS r3, 192(p)

// func kern6x64AVX512(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)
TEXT ·kern6x64AVX512(SB), NOSPLIT, $0-80
	ARGS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

loop64:
	VMOVUPS 0(BX), Z24
	VMOVUPS 64(BX), Z25
	VMOVUPS 128(BX), Z26
	VMOVUPS 192(BX), Z27
	FMA4((SI), Z0, Z1, Z2, Z3)
	FMA4((SI)(R9*1), Z4, Z5, Z6, Z7)
	FMA4((SI)(R9*2), Z8, Z9, Z10, Z11)
	FMA4((R10), Z12, Z13, Z14, Z15)
	FMA4((R10)(R9*1), Z16, Z17, Z18, Z19)
	FMA4((R10)(R9*2), Z20, Z21, Z22, Z23)
	ADDQ R11, SI
	ADDQ R11, R10
	ADDQ R12, BX
	DECQ CX
	JNZ  loop64

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R13
	LEAQ (DI)(R13*1), AX
	LEAQ (DI)(R13*2), BX
	LEAQ (BX)(R13*1), R14
	LEAQ (R14)(R13*1), R8
	LEAQ (R14)(R13*2), R12
	MOVQ bias+64(FP), SI
	MOVQ flags+72(FP), DX

	TESTQ $1, DX
	JZ    norm64acc
	ACC4(DI, Z0, Z1, Z2, Z3)
	ACC4(AX, Z4, Z5, Z6, Z7)
	ACC4(BX, Z8, Z9, Z10, Z11)
	ACC4(R14, Z12, Z13, Z14, Z15)
	ACC4(R8, Z16, Z17, Z18, Z19)
	ACC4(R12, Z20, Z21, Z22, Z23)

norm64acc:
	TESTQ $2, DX
	JZ    no64rb
	RBIAS4(0, Z0, Z1, Z2, Z3)
	RBIAS4(4, Z4, Z5, Z6, Z7)
	RBIAS4(8, Z8, Z9, Z10, Z11)
	RBIAS4(12, Z12, Z13, Z14, Z15)
	RBIAS4(16, Z16, Z17, Z18, Z19)
	RBIAS4(20, Z20, Z21, Z22, Z23)

no64rb:
	TESTQ $4, DX
	JZ    no64cb
	VMOVUPS 0(SI), Z24
	VMOVUPS 64(SI), Z25
	VMOVUPS 128(SI), Z26
	VMOVUPS 192(SI), Z27
	CBIAS4(Z0, Z1, Z2, Z3)
	CBIAS4(Z4, Z5, Z6, Z7)
	CBIAS4(Z8, Z9, Z10, Z11)
	CBIAS4(Z12, Z13, Z14, Z15)
	CBIAS4(Z16, Z17, Z18, Z19)
	CBIAS4(Z20, Z21, Z22, Z23)

no64cb:
	TESTQ $8, DX
	JZ    no64relu
	VPXORD Z28, Z28, Z28
	RELU4(Z0, Z1, Z2, Z3)
	RELU4(Z4, Z5, Z6, Z7)
	RELU4(Z8, Z9, Z10, Z11)
	RELU4(Z12, Z13, Z14, Z15)
	RELU4(Z16, Z17, Z18, Z19)
	RELU4(Z20, Z21, Z22, Z23)

no64relu:
	STORE4(DI, Z0, Z1, Z2, Z3)
	STORE4(AX, Z4, Z5, Z6, Z7)
	STORE4(BX, Z8, Z9, Z10, Z11)
	STORE4(R14, Z12, Z13, Z14, Z15)
	STORE4(R8, Z16, Z17, Z18, Z19)
	STORE4(R12, Z20, Z21, Z22, Z23)
	VZEROUPPER
	RET

// kern6x64OffAVX512 is kern6x64AVX512 with the rows of B anywhere: row kk
// is the 64 floats at b + offs[kk] (offs in bytes), not at b + kk*bs. A
// convolution reads its zero-padded input through it without im2col.
//
// func kern6x64OffAVX512(k int, a *float32, rsA, csA int, b *float32, offs *int, c *float32, ldc int, bias *float32, flags int)
TEXT ·kern6x64OffAVX512(SB), NOSPLIT, $0-80
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsA+16(FP), R9
	MOVQ csA+24(FP), R11
	MOVQ b+32(FP), BX
	MOVQ offs+40(FP), R12
	LEAQ (R9)(R9*2), R10
	ADDQ SI, R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

loop64off:
	MOVQ    (R12), R13
	ADDQ    $8, R12
	VMOVUPS 0(BX)(R13*1), Z24
	VMOVUPS 64(BX)(R13*1), Z25
	VMOVUPS 128(BX)(R13*1), Z26
	VMOVUPS 192(BX)(R13*1), Z27
	FMA4((SI), Z0, Z1, Z2, Z3)
	FMA4((SI)(R9*1), Z4, Z5, Z6, Z7)
	FMA4((SI)(R9*2), Z8, Z9, Z10, Z11)
	FMA4((R10), Z12, Z13, Z14, Z15)
	FMA4((R10)(R9*1), Z16, Z17, Z18, Z19)
	FMA4((R10)(R9*2), Z20, Z21, Z22, Z23)
	ADDQ R11, SI
	ADDQ R11, R10
	DECQ CX
	JNZ  loop64off

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R13
	LEAQ (DI)(R13*1), AX
	LEAQ (DI)(R13*2), BX
	LEAQ (BX)(R13*1), R14
	LEAQ (R14)(R13*1), R8
	LEAQ (R14)(R13*2), R12
	MOVQ bias+64(FP), SI
	MOVQ flags+72(FP), DX

	TESTQ $1, DX
	JZ    norm64accoff
	ACC4(DI, Z0, Z1, Z2, Z3)
	ACC4(AX, Z4, Z5, Z6, Z7)
	ACC4(BX, Z8, Z9, Z10, Z11)
	ACC4(R14, Z12, Z13, Z14, Z15)
	ACC4(R8, Z16, Z17, Z18, Z19)
	ACC4(R12, Z20, Z21, Z22, Z23)

norm64accoff:
	TESTQ $2, DX
	JZ    no64rboff
	RBIAS4(0, Z0, Z1, Z2, Z3)
	RBIAS4(4, Z4, Z5, Z6, Z7)
	RBIAS4(8, Z8, Z9, Z10, Z11)
	RBIAS4(12, Z12, Z13, Z14, Z15)
	RBIAS4(16, Z16, Z17, Z18, Z19)
	RBIAS4(20, Z20, Z21, Z22, Z23)

no64rboff:
	TESTQ $4, DX
	JZ    no64cboff
	VMOVUPS 0(SI), Z24
	VMOVUPS 64(SI), Z25
	VMOVUPS 128(SI), Z26
	VMOVUPS 192(SI), Z27
	CBIAS4(Z0, Z1, Z2, Z3)
	CBIAS4(Z4, Z5, Z6, Z7)
	CBIAS4(Z8, Z9, Z10, Z11)
	CBIAS4(Z12, Z13, Z14, Z15)
	CBIAS4(Z16, Z17, Z18, Z19)
	CBIAS4(Z20, Z21, Z22, Z23)

no64cboff:
	TESTQ $8, DX
	JZ    no64reluoff
	VPXORD Z28, Z28, Z28
	RELU4(Z0, Z1, Z2, Z3)
	RELU4(Z4, Z5, Z6, Z7)
	RELU4(Z8, Z9, Z10, Z11)
	RELU4(Z12, Z13, Z14, Z15)
	RELU4(Z16, Z17, Z18, Z19)
	RELU4(Z20, Z21, Z22, Z23)

no64reluoff:
	STORE4(DI, Z0, Z1, Z2, Z3)
	STORE4(AX, Z4, Z5, Z6, Z7)
	STORE4(BX, Z8, Z9, Z10, Z11)
	STORE4(R14, Z12, Z13, Z14, Z15)
	STORE4(R8, Z16, Z17, Z18, Z19)
	STORE4(R12, Z20, Z21, Z22, Z23)
	VZEROUPPER
	RET

// ---------------------------------------------------------------- AVX-512 6x16
// Two accumulator sets (even and odd k) hide the FMA latency.

// func kern6x16AVX512(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)
TEXT ·kern6x16AVX512(SB), NOSPLIT, $0-80
	ARGS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	CMPQ CX, $2
	JLT  tail16

loop16:
	VMOVUPS (BX), Z24
	VMOVUPS (BX)(R12*1), Z25
	VFMADD231PS.BCST (SI), Z24, Z0
	VFMADD231PS.BCST (SI)(R9*1), Z24, Z1
	VFMADD231PS.BCST (SI)(R9*2), Z24, Z2
	VFMADD231PS.BCST (R10), Z24, Z3
	VFMADD231PS.BCST (R10)(R9*1), Z24, Z4
	VFMADD231PS.BCST (R10)(R9*2), Z24, Z5
	ADDQ R11, SI
	ADDQ R11, R10
	VFMADD231PS.BCST (SI), Z25, Z6
	VFMADD231PS.BCST (SI)(R9*1), Z25, Z7
	VFMADD231PS.BCST (SI)(R9*2), Z25, Z8
	VFMADD231PS.BCST (R10), Z25, Z9
	VFMADD231PS.BCST (R10)(R9*1), Z25, Z10
	VFMADD231PS.BCST (R10)(R9*2), Z25, Z11
	ADDQ R11, SI
	ADDQ R11, R10
	LEAQ (BX)(R12*2), BX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  loop16

tail16:
	TESTQ CX, CX
	JZ    done16
	VMOVUPS (BX), Z24
	VFMADD231PS.BCST (SI), Z24, Z0
	VFMADD231PS.BCST (SI)(R9*1), Z24, Z1
	VFMADD231PS.BCST (SI)(R9*2), Z24, Z2
	VFMADD231PS.BCST (R10), Z24, Z3
	VFMADD231PS.BCST (R10)(R9*1), Z24, Z4
	VFMADD231PS.BCST (R10)(R9*2), Z24, Z5

done16:
	VADDPS Z6, Z0, Z0
	VADDPS Z7, Z1, Z1
	VADDPS Z8, Z2, Z2
	VADDPS Z9, Z3, Z3
	VADDPS Z10, Z4, Z4
	VADDPS Z11, Z5, Z5

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R13
	LEAQ (DI)(R13*1), AX
	LEAQ (DI)(R13*2), BX
	LEAQ (BX)(R13*1), R14
	LEAQ (R14)(R13*1), R8
	LEAQ (R14)(R13*2), R12
	MOVQ bias+64(FP), SI
	MOVQ flags+72(FP), DX

	TESTQ $1, DX
	JZ    no16acc
	VADDPS (DI), Z0, Z0
	VADDPS (AX), Z1, Z1
	VADDPS (BX), Z2, Z2
	VADDPS (R14), Z3, Z3
	VADDPS (R8), Z4, Z4
	VADDPS (R12), Z5, Z5

no16acc:
	TESTQ $2, DX
	JZ    no16rb
	VADDPS.BCST 0(SI), Z0, Z0
	VADDPS.BCST 4(SI), Z1, Z1
	VADDPS.BCST 8(SI), Z2, Z2
	VADDPS.BCST 12(SI), Z3, Z3
	VADDPS.BCST 16(SI), Z4, Z4
	VADDPS.BCST 20(SI), Z5, Z5

no16rb:
	TESTQ $4, DX
	JZ    no16cb
	VMOVUPS (SI), Z24
	VADDPS Z24, Z0, Z0
	VADDPS Z24, Z1, Z1
	VADDPS Z24, Z2, Z2
	VADDPS Z24, Z3, Z3
	VADDPS Z24, Z4, Z4
	VADDPS Z24, Z5, Z5

no16cb:
	TESTQ $8, DX
	JZ    no16relu
	VPXORD Z28, Z28, Z28
	VMAXPS Z0, Z28, Z0
	VMAXPS Z1, Z28, Z1
	VMAXPS Z2, Z28, Z2
	VMAXPS Z3, Z28, Z3
	VMAXPS Z4, Z28, Z4
	VMAXPS Z5, Z28, Z5

no16relu:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (AX)
	VMOVUPS Z2, (BX)
	VMOVUPS Z3, (R14)
	VMOVUPS Z4, (R8)
	VMOVUPS Z5, (R12)
	VZEROUPPER
	RET

// ---------------------------------------------------------------- AVX2 6x16

#define FMA2(src, r0, r1) \
	VBROADCASTSS src, Y14 \
	VFMADD231PS Y12, Y14, r0 \
	VFMADD231PS Y13, Y14, r1

#define ACC2(p, r0, r1) \
	VADDPS 0(p), r0, r0 \
	VADDPS 32(p), r1, r1

#define RBIAS2(off, r0, r1) \
	VBROADCASTSS off(SI), Y14 \
	VADDPS Y14, r0, r0 \
	VADDPS Y14, r1, r1

#define CBIAS2(r0, r1) \
	VADDPS Y12, r0, r0 \
	VADDPS Y13, r1, r1

#define RELU2(r0, r1) \
	VMAXPS r0, Y15, r0 \
	VMAXPS r1, Y15, r1

#define STORE2(p, r0, r1) \
	VMOVUPS r0, 0(p) \
	VMOVUPS r1, 32(p)

// func kern6x16AVX2(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)
TEXT ·kern6x16AVX2(SB), NOSPLIT, $0-80
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loopavx2:
	VMOVUPS 0(BX), Y12
	VMOVUPS 32(BX), Y13
	FMA2((SI), Y0, Y1)
	FMA2((SI)(R9*1), Y2, Y3)
	FMA2((SI)(R9*2), Y4, Y5)
	FMA2((R10), Y6, Y7)
	FMA2((R10)(R9*1), Y8, Y9)
	FMA2((R10)(R9*2), Y10, Y11)
	ADDQ R11, SI
	ADDQ R11, R10
	ADDQ R12, BX
	DECQ CX
	JNZ  loopavx2

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R13
	LEAQ (DI)(R13*1), AX
	LEAQ (DI)(R13*2), BX
	LEAQ (BX)(R13*1), R14
	LEAQ (R14)(R13*1), R8
	LEAQ (R14)(R13*2), R12
	MOVQ bias+64(FP), SI
	MOVQ flags+72(FP), DX

	TESTQ $1, DX
	JZ    noavx2acc
	ACC2(DI, Y0, Y1)
	ACC2(AX, Y2, Y3)
	ACC2(BX, Y4, Y5)
	ACC2(R14, Y6, Y7)
	ACC2(R8, Y8, Y9)
	ACC2(R12, Y10, Y11)

noavx2acc:
	TESTQ $2, DX
	JZ    noavx2rb
	RBIAS2(0, Y0, Y1)
	RBIAS2(4, Y2, Y3)
	RBIAS2(8, Y4, Y5)
	RBIAS2(12, Y6, Y7)
	RBIAS2(16, Y8, Y9)
	RBIAS2(20, Y10, Y11)

noavx2rb:
	TESTQ $4, DX
	JZ    noavx2cb
	VMOVUPS 0(SI), Y12
	VMOVUPS 32(SI), Y13
	CBIAS2(Y0, Y1)
	CBIAS2(Y2, Y3)
	CBIAS2(Y4, Y5)
	CBIAS2(Y6, Y7)
	CBIAS2(Y8, Y9)
	CBIAS2(Y10, Y11)

noavx2cb:
	TESTQ $8, DX
	JZ    noavx2relu
	VXORPS Y15, Y15, Y15
	RELU2(Y0, Y1)
	RELU2(Y2, Y3)
	RELU2(Y4, Y5)
	RELU2(Y6, Y7)
	RELU2(Y8, Y9)
	RELU2(Y10, Y11)

noavx2relu:
	STORE2(DI, Y0, Y1)
	STORE2(AX, Y2, Y3)
	STORE2(BX, Y4, Y5)
	STORE2(R14, Y6, Y7)
	STORE2(R8, Y8, Y9)
	STORE2(R12, Y10, Y11)
	VZEROUPPER
	RET
