# The catbreed function: AWS Lambda container image, Python 3.12.
# Build: docker build -t catbreed .   Run: docker run -p 9000:8080 catbreed
# Then:  .venv/bin/python test.py tests/fixtures/cat_chelsea.jpg --endpoint localhost:9000/2015-03-31/functions/function/invocations
#
# The base image by digest (the multi-architecture index of the python:3.12 tag), not by the
# moving tag. UNVERIFIED: written without access to the registry; before relying on it, check
# it is the tag's index for both architectures and take the current one:
#   docker buildx imagetools inspect public.ecr.aws/lambda/python:3.12    (the "Digest:" line)
FROM public.ecr.aws/lambda/python:3.12@sha256:0628ddc11919f85f4261517d356392dbbc6b3181568d87a376ae2e814464c230

# Inference only: no tensorflow, no torch. Exactly the locked wheels, every one checked against
# its hash (requirements-runtime.lock, from requirements-runtime.txt by catbreed_local/lock_runtime.py;
# on arm64 pip takes that machine's lines). Then without the parts of LiteRT that are never
# loaded (scripts/slim_runtime.sh).
COPY requirements-runtime.lock scripts/slim_runtime.sh /tmp/build/
RUN pip install --no-cache-dir --require-hashes --only-binary :all: --target "${LAMBDA_TASK_ROOT}" \
        -r /tmp/build/requirements-runtime.lock \
    && sh /tmp/build/slim_runtime.sh "${LAMBDA_TASK_ROOT}" \
    && rm -rf /tmp/build

# What the function runs, nothing else: the runtime package, the model and its card, the
# handler (tests/unit/test_container_image.py checks the list).
COPY catbreed/ ${LAMBDA_TASK_ROOT}/catbreed/
COPY model/catbreed.tflite model/model_card.json ${LAMBDA_TASK_ROOT}/model/
COPY lambda_function.py ${LAMBDA_TASK_ROOT}/

ENV CATBREED_THREADS=1
CMD ["lambda_function.lambda_handler"]
